using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>
/// The runtime knobs as <c>/_emulator/settings</c> reads and writes them: camelCase names, durations as
/// <c>"hh:mm:ss"</c>, enums by name. A posted object changes only the members it has.
/// </summary>
internal sealed class EmulatorSettings
{
    public static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    public bool? AutoApprove { get; set; }

    public TimeSpan? AccessTokenLifetime { get; set; }

    public TimeSpan? AuthorizationCodeLifetime { get; set; }

    public TimeSpan? AppSdkTokenLifetime { get; set; }

    public PitchlyEmulatorErrorStyle? ErrorStyle { get; set; }

    public bool? StrictRefreshTokenReuse { get; set; }

    public TimeSpan? Latency { get; set; }

    public double? EarlyInvalidationRate { get; set; }

    public int? GeneratedUsers { get; set; }

    public double? TokenEndpointFaultRate { get; set; }

    public PitchlyEmulatorFault? TokenEndpointFault { get; set; }

    public TimeSpan? TokenEndpointFaultDelay { get; set; }

    public int? GraphQLRequestLogCapacity { get; set; }

    public long? MaxRequestBodySize { get; set; }

    public int? MaxQueryDepth { get; set; }

    public int? MaxSubscriptionOperations { get; set; }

    public int? MaxSubscriptionSendQueue { get; set; }

    public int? MaxSpentRefreshTokens { get; set; }

    public static EmulatorSettings From(PitchlyEmulatorOptions options) => new()
    {
        AutoApprove = options.AutoApprove,
        AccessTokenLifetime = options.AccessTokenLifetime,
        AuthorizationCodeLifetime = options.AuthorizationCodeLifetime,
        AppSdkTokenLifetime = options.AppSdkTokenLifetime,
        ErrorStyle = options.ErrorStyle,
        StrictRefreshTokenReuse = options.StrictRefreshTokenReuse,
        Latency = options.Latency,
        EarlyInvalidationRate = options.EarlyInvalidationRate,
        GeneratedUsers = options.GeneratedUsers,
        TokenEndpointFaultRate = options.TokenEndpointFaultRate,
        TokenEndpointFault = options.TokenEndpointFault,
        TokenEndpointFaultDelay = options.TokenEndpointFaultDelay,
        GraphQLRequestLogCapacity = options.GraphQLRequestLogCapacity,
        MaxRequestBodySize = options.MaxRequestBodySize,
        MaxQueryDepth = options.MaxQueryDepth,
        MaxSubscriptionOperations = options.MaxSubscriptionOperations,
        MaxSubscriptionSendQueue = options.MaxSubscriptionSendQueue,
        MaxSpentRefreshTokens = options.MaxSpentRefreshTokens,
    };

    public void ApplyTo(PitchlyEmulatorOptions options)
    {
        options.AutoApprove = AutoApprove ?? options.AutoApprove;
        options.AccessTokenLifetime = AccessTokenLifetime ?? options.AccessTokenLifetime;
        options.AuthorizationCodeLifetime = AuthorizationCodeLifetime ?? options.AuthorizationCodeLifetime;
        options.AppSdkTokenLifetime = AppSdkTokenLifetime ?? options.AppSdkTokenLifetime;
        options.ErrorStyle = ErrorStyle ?? options.ErrorStyle;
        options.StrictRefreshTokenReuse = StrictRefreshTokenReuse ?? options.StrictRefreshTokenReuse;
        options.Latency = Latency ?? options.Latency;
        options.EarlyInvalidationRate = EarlyInvalidationRate ?? options.EarlyInvalidationRate;
        options.GeneratedUsers = GeneratedUsers ?? options.GeneratedUsers;
        options.TokenEndpointFaultRate = TokenEndpointFaultRate ?? options.TokenEndpointFaultRate;
        options.TokenEndpointFault = TokenEndpointFault ?? options.TokenEndpointFault;
        options.TokenEndpointFaultDelay = TokenEndpointFaultDelay ?? options.TokenEndpointFaultDelay;
        options.GraphQLRequestLogCapacity = GraphQLRequestLogCapacity ?? options.GraphQLRequestLogCapacity;
        options.MaxRequestBodySize = MaxRequestBodySize ?? options.MaxRequestBodySize;
        options.MaxQueryDepth = MaxQueryDepth ?? options.MaxQueryDepth;
        options.MaxSubscriptionOperations = MaxSubscriptionOperations ?? options.MaxSubscriptionOperations;
        options.MaxSubscriptionSendQueue = MaxSubscriptionSendQueue ?? options.MaxSubscriptionSendQueue;
        options.MaxSpentRefreshTokens = MaxSpentRefreshTokens ?? options.MaxSpentRefreshTokens;
    }
}
