using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>Tells the app's <see cref="IPitchlyTokenRefreshedHandler"/>s of stored tokens, after the lock is released.</summary>
internal sealed partial class RefreshNotifier
{
    private readonly IPitchlyTokenRefreshedHandler[] _handlers;
    private readonly ILogger _logger;

    public RefreshNotifier(IEnumerable<IPitchlyTokenRefreshedHandler> handlers, ILogger logger)
    {
        _handlers = handlers.ToArray();
        _logger = logger;
    }

    public async ValueTask NotifyAsync(PitchlyTokenKey key, PitchlyTokenRecord stored, CancellationToken cancellationToken)
    {
        if (_handlers.Length == 0)
        {
            return;
        }

        var context = new PitchlyTokenRefreshedContext(key, stored.ToAccessToken(), stored.Scope);
        foreach (var handler in _handlers)
        {
            try
            {
                await handler.OnTokenRefreshedAsync(context, cancellationToken);
            }
            catch (Exception exception)
            {
                // The tokens are stored: a handler that fails or outlives the refresh timeout is logged, and the
                // refresh still succeeds.
                Log.HandlerFailed(_logger, key, handler.GetType().FullName, exception);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2008, EventName = "RefreshedHandlerFailed", Level = LogLevel.Error, Message = "The token-refreshed handler {Handler} failed for {Key}; the tokens are stored.")]
        public static partial void HandlerFailed(ILogger logger, PitchlyTokenKey key, string? handler, Exception exception);
    }
}
