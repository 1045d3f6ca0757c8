using System.Net.Http.Headers;

namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>
/// The innermost handler of the GraphQL client: records, for the current <see cref="WorkProbe"/>, a fingerprint of the
/// token each attempt the access-token handler sends carries (the last one is the token the call used).
/// </summary>
internal sealed class ProbeHandler : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (WorkProbe.Current is { } probe && request.Headers.Authorization is AuthenticationHeaderValue { Parameter: { } token })
        {
            probe.TokenFingerprint = TokenFingerprint.Of(token);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
