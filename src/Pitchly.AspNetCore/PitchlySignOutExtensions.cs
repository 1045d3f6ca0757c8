using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Internal.Authentication;

namespace Pitchly.AspNetCore;

/// <summary>Signs a person out of the app and forgets the Pitchly tokens stored for them.</summary>
public static class PitchlySignOutExtensions
{
    /// <summary>
    /// Removes the Pitchly tokens stored for the current user (<see cref="PitchlyTokenKey.FromPrincipal"/>), then signs
    /// out of <paramref name="scheme"/> (the cookie scheme; <see langword="null"/> for the default sign-out scheme).
    /// </summary>
    /// <remarks>
    /// Tokens are stored per person, not per browser: the person's other signed-in browsers keep their cookies but
    /// lose access to Pitchly until they sign in again. Pitchly has no documented revocation endpoint, so the tokens
    /// are forgotten rather than revoked. When the token store cannot be reached
    /// (<see cref="PitchlyTokenStoreUnavailableException"/>), the sign-out still happens and a warning (event 1005) is
    /// logged; the record then stays until it expires or the person's next sign-in replaces it.
    /// </remarks>
    /// <param name="context">The current request.</param>
    /// <param name="scheme">The scheme to sign out of, usually the cookie scheme.</param>
    /// <param name="properties">Sign-out properties, such as the redirect URI.</param>
    /// <returns>A task that completes when the tokens are removed and the sign-out has been applied.</returns>
    public static async Task SignOutOfPitchlyAsync(this HttpContext context, string? scheme = null, AuthenticationProperties? properties = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (PitchlyTokenKey.FromPrincipal(context.User) is { } key)
        {
            var store = context.RequestServices.GetRequiredService<IPitchlyTokenStore>();
            var logger = context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(PitchlySignOutExtensions));
            try
            {
                if (await store.RemoveAsync(key, cancellationToken: context.RequestAborted))
                {
                    logger?.TokensRemoved(key);
                }
            }
            catch (PitchlyTokenStoreUnavailableException exception)
            {
                // The person asked to leave: an unreachable store must not keep them signed in. The record stays until
                // it expires (Redis: RecordTimeToLive) or their next sign-in replaces it; no later blind removal is
                // attempted, as it could delete the tokens of that next sign-in.
                logger?.TokensNotRemoved(key, exception);
            }
        }

        await context.SignOutAsync(scheme, properties);
    }
}
