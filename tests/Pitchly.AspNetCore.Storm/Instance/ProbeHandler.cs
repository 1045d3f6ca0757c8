using System.Net.Http.Headers;

namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>
/// The innermost handler of the GraphQL client: records, for the current <see cref="WorkProbe"/>, every attempt the
/// access-token handler sends (a second one is a replay after a refresh) and a fingerprint of the token it carries.
/// </summary>
internal sealed class ProbeHandler(RefreshTracker tracker) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (WorkProbe.Current is { } probe)
        {
            probe.Attempts++;
            probe.RefreshesEndedAtLastAttempt = tracker.Ended(probe.Key);

            if (request.Headers.Authorization is AuthenticationHeaderValue { Parameter: { } token })
            {
                probe.TokenFingerprint = TokenFingerprint.Of(token);
            }
        }

        return base.SendAsync(request, cancellationToken);
    }
}
