using Pitchly.AspNetCore.Storm.Farm;

namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>
/// The outermost handler of the token manager's token-endpoint client: the instance freezes here, after the token
/// manager decided to spend the refresh token and before the request leaves the process.
/// </summary>
internal sealed class FreezeBeforeTokenRequestHandler(FreezePoint freezePoint) : DelegatingHandler
{
    /// <summary>The name the token manager gives its token-endpoint <see cref="HttpClient"/>.</summary>
    public const string TokenClientName = "Pitchly.TokenEndpoint";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        freezePoint.Reach(StormFreeze.BeforeTokenRequest);
        return base.SendAsync(request, cancellationToken);
    }
}
