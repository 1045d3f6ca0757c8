using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>The subscription client's logs (event ids 2200–2219). Keys and close codes only: never a token.</summary>
internal static partial class SubscriptionLog
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Debug, Message = "Subscription {SubscriptionId} of {Key} is connected to {Endpoint}.")]
    public static partial void Connected(ILogger logger, string subscriptionId, PitchlyTokenKey key, Uri endpoint);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Pitchly rejected the access token of {Key} on subscription {SubscriptionId} (close {CloseStatus}); refreshing it and subscribing again.")]
    public static partial void TokenRejected(ILogger logger, PitchlyTokenKey key, string subscriptionId, int? closeStatus);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Subscription {SubscriptionId} of {Key} lost its connection ({Reason}, close {CloseStatus}); reconnecting in {Delay} (attempt {Attempt} of {MaxAttempts}).")]
    public static partial void Reconnecting(ILogger logger, string subscriptionId, PitchlyTokenKey key, string reason, int? closeStatus, TimeSpan delay, int attempt, int maxAttempts, Exception? exception);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Error, Message = "Subscription {SubscriptionId} of {Key} could not re-establish its connection after {Attempts} attempts; ending it.")]
    public static partial void GaveUp(ILogger logger, string subscriptionId, PitchlyTokenKey key, int attempts, Exception? exception);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "Pitchly kept rejecting freshly refreshed access tokens of {Key} on subscription {SubscriptionId} ({Rejections} rejections in a row, close {CloseStatus}); ending it without another refresh.")]
    public static partial void RejectedRepeatedly(ILogger logger, PitchlyTokenKey key, string subscriptionId, int rejections, int? closeStatus);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Debug, Message = "Pitchly completed subscription {SubscriptionId} of {Key}.")]
    public static partial void Completed(ILogger logger, string subscriptionId, PitchlyTokenKey key);

    [LoggerMessage(EventId = 2206, Level = LogLevel.Debug, Message = "Subscription {SubscriptionId} of {Key} was ended by the application.")]
    public static partial void Stopped(ILogger logger, string subscriptionId, PitchlyTokenKey key);

    [LoggerMessage(EventId = 2207, Level = LogLevel.Warning, Message = "Subscription {SubscriptionId} of {Key} ended: {Reason}")]
    public static partial void Failed(ILogger logger, string subscriptionId, PitchlyTokenKey key, string reason);

    [LoggerMessage(EventId = 2208, Level = LogLevel.Warning, Message = "Subscription {SubscriptionId} of {Key} was dropped by the application without being disposed; closing its connection. Enumerate subscriptions with await foreach, or dispose their enumerators.")]
    public static partial void Abandoned(ILogger logger, string subscriptionId, PitchlyTokenKey key);
}
