using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>
/// Fills in an unset endpoint from the GraphQL endpoint (<c>https://host/graphql</c> → <c>wss://host/subscriptions</c>),
/// so an app pointed at the emulator or another Pitchly origin subscribes there too without a second setting.
/// </summary>
internal sealed class DerivePitchlySubscriptionEndpoint : IPostConfigureOptions<PitchlySubscriptionClientOptions>
{
    private readonly IOptionsMonitor<PitchlyGraphQLClientOptions> _graphQLOptions;

    public DerivePitchlySubscriptionEndpoint(IOptionsMonitor<PitchlyGraphQLClientOptions> graphQLOptions) => _graphQLOptions = graphQLOptions;

    public void PostConfigure(string? name, PitchlySubscriptionClientOptions options)
    {
        if (options.Endpoint is null && _graphQLOptions.CurrentValue.Endpoint is { IsAbsoluteUri: true } graphQL)
        {
            options.Endpoint = FromGraphQLEndpoint(graphQL);
        }
    }

    public static Uri? FromGraphQLEndpoint(Uri graphQL)
    {
        var scheme = graphQL.Scheme == Uri.UriSchemeHttps ? Uri.UriSchemeWss
            : graphQL.Scheme == Uri.UriSchemeHttp ? Uri.UriSchemeWs
            : null;
        if (scheme is null)
        {
            return null;
        }

        // Relative resolution replaces the last path segment: /graphql → /subscriptions, /api/graphql → /api/subscriptions.
        var sibling = new Uri(graphQL, "subscriptions");
        return new UriBuilder(sibling) { Scheme = scheme, Port = sibling.IsDefaultPort ? -1 : sibling.Port, Query = string.Empty, Fragment = string.Empty }.Uri;
    }
}
