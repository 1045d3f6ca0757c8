using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Adds the origins of Pitchly's configured endpoints to every credential handler's
/// <see cref="PitchlyAccessTokenHandlerOptions.AllowedOrigins"/>: the GraphQL endpoint, the token endpoint (whose origin
/// also serves the older GraphQL path) and the subscription endpoint (as http/https). The embedded emulator writes its
/// own address into those settings, so it is allowed wherever it runs. After every other configuration: the app adds to
/// the list, it cannot take Pitchly out of it.
/// </summary>
internal sealed class AddPitchlyEndpointOrigins : IPostConfigureOptions<PitchlyAccessTokenHandlerOptions>
{
    private readonly IOptionsMonitor<PitchlyGraphQLClientOptions> _graphQL;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _tokenManagement;
    private readonly IOptionsMonitor<PitchlySubscriptionClientOptions> _subscriptions;

    public AddPitchlyEndpointOrigins(
        IOptionsMonitor<PitchlyGraphQLClientOptions> graphQL,
        IOptionsMonitor<PitchlyTokenManagementOptions> tokenManagement,
        IOptionsMonitor<PitchlySubscriptionClientOptions> subscriptions)
    {
        _graphQL = graphQL;
        _tokenManagement = tokenManagement;
        _subscriptions = subscriptions;
    }

    public void PostConfigure(string? name, PitchlyAccessTokenHandlerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Add(options, Read(_graphQL)?.Endpoint);
        Add(options, Uri.TryCreate(Read(_tokenManagement)?.TokenEndpoint, UriKind.Absolute, out var tokenEndpoint) ? tokenEndpoint : null);
        if (Read(_subscriptions)?.Endpoint is { IsAbsoluteUri: true } subscriptions)
        {
            var scheme = subscriptions.Scheme == Uri.UriSchemeWss ? Uri.UriSchemeHttps
                : subscriptions.Scheme == Uri.UriSchemeWs ? Uri.UriSchemeHttp
                : null;
            if (scheme is not null)
            {
                Add(options, new UriBuilder(scheme, subscriptions.Host, subscriptions.IsDefaultPort ? -1 : subscriptions.Port).Uri);
            }
        }
    }

    // Settings that fail their own validation are reported by it (and stop the start); they allow no origin here.
    private static T? Read<T>(IOptionsMonitor<T> monitor)
        where T : class
    {
        try
        {
            return monitor.CurrentValue;
        }
        catch (OptionsValidationException)
        {
            return null;
        }
    }

    private static void Add(PitchlyAccessTokenHandlerOptions options, Uri? endpoint)
    {
        if (endpoint is { IsAbsoluteUri: true } && (endpoint.Scheme == Uri.UriSchemeHttps || endpoint.Scheme == Uri.UriSchemeHttp))
        {
            options.AllowedOrigins.Add(CredentialOrigins.OriginOf(endpoint));
        }
    }
}
