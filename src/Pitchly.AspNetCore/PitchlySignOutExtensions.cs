using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Internal.Authentication;

namespace Pitchly.AspNetCore;

/// <summary>Signs a person out of the app: this session only, or every session, with the Pitchly tokens stored for them.</summary>
public static class PitchlySignOutExtensions
{
    /// <summary>
    /// Ends the current user's session (the <see cref="PitchlyClaimTypes.SessionId"/> of their cookie) in the token store,
    /// removing the stored Pitchly tokens when it was the person's last session, then signs out of <paramref name="scheme"/>
    /// (the cookie scheme; <see langword="null"/> for the default sign-out scheme).
    /// </summary>
    /// <remarks>
    /// Tokens are kept per person, sessions per sign-in: the person's other signed-in browsers keep working, while this
    /// cookie, replayed, is rejected by cookie validation. A cookie issued before sessions were tracked (no session claim)
    /// removes the tokens only when no tracked session uses them. Pitchly has no documented revocation endpoint, so the
    /// tokens are forgotten rather than revoked. The cookie is always cleared: when the token store cannot be reached
    /// (<see cref="PitchlyTokenStoreUnavailableException"/>, event 1005) or a refresh keeps the record busy (event 1010),
    /// a warning is logged and the session stays live in the store until the record expires or the person signs out
    /// everywhere.
    /// </remarks>
    /// <param name="context">The current request.</param>
    /// <param name="scheme">The scheme to sign out of, usually the cookie scheme.</param>
    /// <param name="properties">Sign-out properties, such as the redirect URI.</param>
    /// <returns>A task that completes when the session has ended and the sign-out has been applied.</returns>
    public static async Task SignOutOfPitchlyAsync(this HttpContext context, string? scheme = null, AuthenticationProperties? properties = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (PitchlyTokenKey.FromPrincipal(context.User) is { } key)
        {
            var services = context.RequestServices;
            var store = services.GetRequiredService<IPitchlyTokenStore>();
            var timeProvider = services.GetService<TimeProvider>() ?? TimeProvider.System;
            var logger = LoggerOf(context);
            try
            {
                var result = await PitchlySessions.EndAsync(store, key, PitchlySessions.IdOf(context.User), timeProvider, context.RequestAborted);
                switch (result.Outcome)
                {
                    case SignOutOutcome.Fenced or SignOutOutcome.Contended:
                        logger?.SessionNotEnded(key, result.Outcome);
                        break;
                    case SignOutOutcome.RecordRemoved:
                        logger?.TokensRemoved(key);
                        break;
                    default:
                        logger?.SessionEnded(key, result.Outcome, result.Remaining);
                        break;
                }
            }
            catch (PitchlyTokenStoreUnavailableException exception)
            {
                // The person asked to leave: an unreachable store must not keep them signed in here. No later blind
                // removal is attempted, as it could delete the tokens of a newer sign-in.
                logger?.TokensNotRemoved(key, exception);
            }
        }

        await context.SignOutAsync(scheme, properties);
    }

    /// <summary>
    /// Ends every session of the current user and removes the Pitchly tokens stored for them, then signs out of
    /// <paramref name="scheme"/> (the cookie scheme; <see langword="null"/> for the default sign-out scheme). The person's
    /// other browsers are asked to sign in on their next request; for a lost or stolen device.
    /// </summary>
    /// <remarks>
    /// Cookies issued before sessions were tracked (no <see cref="PitchlyClaimTypes.SessionId"/> claim) are not rejected,
    /// but lose access to Pitchly: the tokens are gone. The cookie is always cleared: when the token store cannot be
    /// reached, a warning (event 1014) is logged and the other sessions stay live.
    /// </remarks>
    /// <param name="context">The current request.</param>
    /// <param name="scheme">The scheme to sign out of, usually the cookie scheme.</param>
    /// <param name="properties">Sign-out properties, such as the redirect URI.</param>
    /// <returns>A task that completes when the sessions have ended and the sign-out has been applied.</returns>
    public static async Task SignOutOfPitchlyEverywhereAsync(this HttpContext context, string? scheme = null, AuthenticationProperties? properties = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (PitchlyTokenKey.FromPrincipal(context.User) is { } key)
        {
            var store = context.RequestServices.GetRequiredService<IPitchlyTokenStore>();
            var logger = LoggerOf(context);
            try
            {
                // Unconditional: whatever a refresh or a sign-in wrote meanwhile belongs to the sessions being ended.
                await store.RemoveAsync(key, cancellationToken: context.RequestAborted);
                logger?.SignedOutEverywhere(key);
            }
            catch (PitchlyTokenStoreUnavailableException exception)
            {
                logger?.SignOutEverywhereFailed(key, exception);
            }
        }

        await context.SignOutAsync(scheme, properties);
    }

    private static ILogger? LoggerOf(HttpContext context)
        => context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(PitchlySignOutExtensions));
}
