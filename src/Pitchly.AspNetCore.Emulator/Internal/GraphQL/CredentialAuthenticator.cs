using Pitchly.AspNetCore.Emulator.Internal.Tokens;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>
/// Decides whom a GraphQL credential acts for: an access token (any grant) or App SDK token, a self-signed JWT, or a
/// client secret sent as <c>secretKey</c>. Shared by <c>POST /graphql</c> and <c>/subscriptions</c>.
/// </summary>
internal sealed class CredentialAuthenticator(PitchlyEmulator emulator)
{
    /// <summary>Checks a credential now.</summary>
    /// <param name="credential">The token, JWT or secret key; <see langword="null"/> when none was sent.</param>
    /// <param name="isSecretKey">Whether it came as <c>secretKey</c>.</param>
    /// <param name="drawEarlyInvalidation">Whether this check draws against <c>EarlyInvalidationRate</c> (a new request does; a re-check of an open subscription does not).</param>
    /// <param name="failure">Why it does not authenticate.</param>
    /// <returns>The identity, or <see langword="null"/>.</returns>
    public RequestIdentity? Authenticate(string? credential, bool isSecretKey, bool drawEarlyInvalidation, out string failure)
    {
        var options = emulator.Options;
        failure = string.Empty;
        if (credential is null)
        {
            failure = "No access token was provided: send it as \"Authorization: Bearer <token>\" or as the accessToken variable.";
            return null;
        }

        if (isSecretKey)
        {
            var owner = emulator.FindClientBySecret(credential);
            if (owner is null)
            {
                failure = "The secretKey is not a registered app's secret.";
                return null;
            }

            return new RequestIdentity(PitchlyEmulatorCredentialKind.SecretKey, owner.ClientId, PitchlyEmulatorDefaults.AcmeOrganizationId, null, PitchlyEmulatorDefaults.Scope);
        }

        var now = emulator.TimeProvider.GetUtcNow();
        if (SelfSignedJwt.LooksLikeJwt(credential))
        {
            if (!SelfSignedJwt.TryValidate(credential, options.Clients, now, out var issuer, out var scope, out failure))
            {
                return null;
            }

            return new RequestIdentity(PitchlyEmulatorCredentialKind.SelfSignedJwt, issuer!.ClientId, PitchlyEmulatorDefaults.AcmeOrganizationId, null, scope ?? PitchlyEmulatorDefaults.Scope);
        }

        var entry = emulator.Tokens.FindAccessToken(credential);
        if (entry is null)
        {
            failure = "The access token is not valid.";
            return null;
        }

        if (drawEarlyInvalidation
            && entry.IsLive(now)
            && options.EarlyInvalidationRate > 0
            && Random.Shared.NextDouble() < options.EarlyInvalidationRate
            && entry.TryInvalidate())
        {
            Interlocked.Increment(ref emulator.Counters.EarlyInvalidations);
            emulator.Logger.EarlyInvalidation(entry.Subject.OrganizationId, entry.Subject.PersonId);
        }

        if (entry.IsRevoked)
        {
            failure = "The access token has been revoked.";
            return null;
        }

        if (now >= entry.ExpiresAt)
        {
            failure = "The access token has expired.";
            return null;
        }

        return new RequestIdentity(entry.Subject.Kind, entry.Subject.ClientId, entry.Subject.OrganizationId, entry.Subject.PersonId, entry.Scope);
    }
}
