namespace Pitchly.AspNetCore;

/// <summary>
/// Told every time new tokens for a key were obtained from Pitchly and stored (a refresh or an install's
/// <c>client_credentials</c> grant), like the App SDK's <c>onConnect</c>: apps that cache the access token elsewhere
/// update their copy here. Register implementations as singletons; every registered handler is called.
/// </summary>
/// <remarks>A handler that throws is logged and does not fail the refresh: the tokens are already stored.</remarks>
public interface IPitchlyTokenRefreshedHandler
{
    /// <summary>Called after new tokens were stored.</summary>
    /// <param name="context">The key and its new access token.</param>
    /// <param name="cancellationToken">Bounded by the refresh's timeout.</param>
    ValueTask OnTokenRefreshedAsync(PitchlyTokenRefreshedContext context, CancellationToken cancellationToken);
}
