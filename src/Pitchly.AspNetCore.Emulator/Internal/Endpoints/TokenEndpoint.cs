using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Pitchly.AspNetCore.Emulator.Internal.Tokens;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>
/// <c>POST /api/oauth/token</c>: the authorization code, refresh token (rotating, single-use), client credentials and
/// token exchange grants, with client authentication in the body (or HTTP Basic), RFC 6749 §5.2 errors and fault injection.
/// </summary>
internal sealed class TokenEndpoint(PitchlyEmulator emulator)
{
    public const string TokenExchangeGrantType = "urn:ietf:params:oauth:grant-type:token-exchange";
    public const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

    public async Task HandleAsync(HttpContext context)
    {
        var options = emulator.Options;
        var counters = emulator.Counters;
        Interlocked.Increment(ref counters.TokenRequests);
        await EmulatedLatency.WaitAsync(emulator.TimeProvider, options.Latency, context.RequestAborted);

        var fault = options.TokenEndpointFaultRate > 0 && Random.Shared.NextDouble() < options.TokenEndpointFaultRate
            ? options.TokenEndpointFault
            : PitchlyEmulatorFault.None;
        if (fault != PitchlyEmulatorFault.None)
        {
            Interlocked.Increment(ref counters.InjectedFaults);
            emulator.Logger.FaultInjected(fault);
        }

        switch (fault)
        {
            case PitchlyEmulatorFault.ServerError:
                Interlocked.Increment(ref counters.FailedTokenRequests);
                await WriteJsonAsync(context, StatusCodes.Status500InternalServerError, new JsonObject { ["error"] = "server_error" });
                return;
            case PitchlyEmulatorFault.Html:
                Interlocked.Increment(ref counters.FailedTokenRequests);
                context.Response.StatusCode = StatusCodes.Status502BadGateway;
                context.Response.ContentType = "text/html; charset=utf-8";
                await context.Response.WriteAsync(
                    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><p>The upstream server did not answer.</p></body></html>",
                    context.RequestAborted);
                return;
            case PitchlyEmulatorFault.Delay:
                await EmulatedLatency.WaitAsync(emulator.TimeProvider, options.TokenEndpointFaultDelay, context.RequestAborted);
                break;
        }

        var outcome = await GrantAsync(context, options);
        if (outcome.Error is { } error)
        {
            Interlocked.Increment(ref counters.FailedTokenRequests);
            emulator.Logger.TokenRequestFailed(error.Error, error.StatusCode, outcome.GrantType, error.Description);
            if (error.StatusCode == StatusCodes.Status401Unauthorized)
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"pitchly-emulator\"";
            }

            await WriteJsonAsync(context, error.StatusCode, new JsonObject { ["error"] = error.Error, ["error_description"] = error.Description });
            return;
        }

        if (fault == PitchlyEmulatorFault.DropAfterGrant)
        {
            // The grant is applied (a refresh token is spent) but the client never learns the new tokens.
            context.Abort();
            return;
        }

        if (fault == PitchlyEmulatorFault.DelayAfterGrant)
        {
            // The grant is applied and counted; the client is handed the new tokens only after the delay.
            await EmulatedLatency.WaitAsync(emulator.TimeProvider, options.TokenEndpointFaultDelay, context.RequestAborted);
        }

        await WriteJsonAsync(context, StatusCodes.Status200OK, outcome.Response!);
    }

    private async Task<GrantOutcome> GrantAsync(HttpContext context, PitchlyEmulatorOptions options)
    {
        if (!context.Request.HasFormContentType)
        {
            return GrantOutcome.Fail(null, TokenError.InvalidRequest("The token request must have an application/x-www-form-urlencoded body."));
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var grantType = Single(form["grant_type"]);

        var client = Authenticate(context, form, out var clientError);
        if (client is null)
        {
            return GrantOutcome.Fail(grantType, clientError!);
        }

        if (string.IsNullOrEmpty(grantType))
        {
            return GrantOutcome.Fail(grantType, TokenError.InvalidRequest("The grant_type parameter is required."));
        }

        var requestedScope = form.TryGetValue("scope", out var scopeValues) ? scopeValues.ToString() : null;
        return grantType switch
        {
            "authorization_code" => AuthorizationCode(form, client, requestedScope, options),
            "refresh_token" => RefreshToken(form, client, requestedScope, options),
            "client_credentials" => ClientCredentials(form, client, requestedScope, options),
            TokenExchangeGrantType => TokenExchange(form, client, requestedScope, options),
            _ => GrantOutcome.Fail(grantType, new TokenError(
                StatusCodes.Status400BadRequest,
                "unsupported_grant_type",
                "The grant_type must be authorization_code, refresh_token, client_credentials or " + TokenExchangeGrantType + ".")),
        };
    }

    private GrantOutcome AuthorizationCode(IFormCollection form, PitchlyEmulatorClient client, string? requestedScope, PitchlyEmulatorOptions options)
    {
        const string GrantType = "authorization_code";
        var code = Single(form["code"]);
        if (string.IsNullOrEmpty(code))
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidRequest("The code parameter is required."));
        }

        var entry = emulator.Tokens.FindCode(code);
        if (entry is null || entry.Family.Subject.ClientId != client.ClientId)
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidGrant("The authorization code is invalid."));
        }

        if (emulator.TimeProvider.GetUtcNow() >= entry.ExpiresAt)
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidGrant("The authorization code has expired."));
        }

        var redirectUri = Single(form["redirect_uri"]);
        var redirectMatches = entry.RedirectUriWasGiven
            ? string.Equals(redirectUri, entry.RedirectUri, StringComparison.Ordinal)
            : redirectUri is null || string.Equals(redirectUri, entry.RedirectUri, StringComparison.Ordinal);
        if (!redirectMatches)
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidGrant("The redirect_uri does not match the one of the authorization request."));
        }

        if (entry.CodeChallenge is not null)
        {
            var verifier = Single(form["code_verifier"]);
            if (string.IsNullOrEmpty(verifier))
            {
                return GrantOutcome.Fail(GrantType, TokenError.InvalidGrant("The code_verifier parameter is required: the authorization request had a code_challenge."));
            }

            if (!Pkce.Verify(verifier, entry.CodeChallenge, entry.CodeChallengeMethod!))
            {
                return GrantOutcome.Fail(GrantType, TokenError.InvalidGrant("The code_verifier does not match the code_challenge."));
            }
        }

        if (!TryScope(requestedScope, entry.Family.Scope, out var scope, out var scopeError))
        {
            return GrantOutcome.Fail(GrantType, scopeError!);
        }

        if (!entry.TryRedeem())
        {
            // RFC 6749 §4.1.2: a code used twice may have leaked; revoke what it issued.
            Interlocked.Increment(ref emulator.Counters.AuthorizationCodeReplays);
            emulator.Logger.AuthorizationCodeReplayed(entry.Family.Id);
            RevokeFamily(entry.Family, "authorization code replayed");
            return GrantOutcome.Fail(GrantType, TokenError.InvalidGrant("The authorization code has already been used."));
        }

        Interlocked.Increment(ref emulator.Counters.AuthorizationCodeGrants);
        return Issue(GrantType, entry.Family.Subject, scope, options, entry.Family);
    }

    private GrantOutcome RefreshToken(IFormCollection form, PitchlyEmulatorClient client, string? requestedScope, PitchlyEmulatorOptions options)
    {
        const string GrantType = "refresh_token";
        var token = Single(form["refresh_token"]);
        if (string.IsNullOrEmpty(token))
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidRequest("The refresh_token parameter is required."));
        }

        var entry = emulator.Tokens.FindRefreshToken(token);
        if (entry is null || entry.Family.Subject.ClientId != client.ClientId || entry.Family.IsRevoked)
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidGrant("The refresh token is invalid, spent or revoked."));
        }

        if (!TryScope(requestedScope, entry.Family.Scope, out var scope, out var scopeError))
        {
            return GrantOutcome.Fail(GrantType, scopeError!);
        }

        if (!emulator.Tokens.TrySpend(token, entry, options.MaxSpentRefreshTokens))
        {
            Interlocked.Increment(ref emulator.Counters.RefreshTokenReuse);
            emulator.Logger.RefreshTokenReused(entry.Family.Id, options.StrictRefreshTokenReuse);
            if (options.StrictRefreshTokenReuse)
            {
                RevokeFamily(entry.Family, "spent refresh token presented again");
            }

            return GrantOutcome.Fail(GrantType, TokenError.InvalidGrant("The refresh token is invalid, spent or revoked."));
        }

        Interlocked.Increment(ref emulator.Counters.RefreshGrants);
        return Issue(GrantType, entry.Family.Subject, scope, options, entry.Family);
    }

    private GrantOutcome ClientCredentials(IFormCollection form, PitchlyEmulatorClient client, string? requestedScope, PitchlyEmulatorOptions options)
    {
        const string GrantType = "client_credentials";
        var organizationId = Single(form["organization_id"]);
        if (string.IsNullOrEmpty(organizationId))
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidRequest("The organization_id parameter is required: the organization that installed the app."));
        }

        if (!emulator.Organizations.ContainsKey(organizationId))
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidRequest("The organization_id names no organization that installed the app."));
        }

        if (!TryScope(requestedScope, PitchlyEmulatorDefaults.Scope, out var scope, out var scopeError))
        {
            return GrantOutcome.Fail(GrantType, scopeError!);
        }

        Interlocked.Increment(ref emulator.Counters.ClientCredentialsGrants);
        var subject = new TokenSubject(PitchlyEmulatorCredentialKind.InstallAccessToken, client.ClientId, organizationId, null);
        return Issue(GrantType, subject, scope, options, family: null);
    }

    private GrantOutcome TokenExchange(IFormCollection form, PitchlyEmulatorClient client, string? requestedScope, PitchlyEmulatorOptions options)
    {
        const string GrantType = "token_exchange";
        var subjectToken = Single(form["subject_token"]);
        if (string.IsNullOrEmpty(subjectToken))
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidRequest("The subject_token parameter is required: the App SDK's access token."));
        }

        if (Single(form["subject_token_type"]) != AccessTokenType)
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidRequest("The subject_token_type must be " + AccessTokenType + "."));
        }

        var subject = emulator.Tokens.FindAccessToken(subjectToken);
        if (subject is null
            || subject.Subject.Kind != PitchlyEmulatorCredentialKind.AppSdkToken
            || !subject.IsLive(emulator.TimeProvider.GetUtcNow()))
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidGrant("The subject_token is not a live App SDK access token."));
        }

        // An App SDK token belongs to the app it was issued in: another app holding it (a leak, a malicious embed)
        // must not turn it into long-lived tokens of its own.
        if (!string.Equals(subject.Subject.ClientId, client.ClientId, StringComparison.Ordinal))
        {
            return GrantOutcome.Fail(GrantType, TokenError.InvalidGrant("The subject_token was issued to another app."));
        }

        if (!TryScope(requestedScope, PitchlyEmulatorDefaults.Scope, out var scope, out var scopeError))
        {
            return GrantOutcome.Fail(GrantType, scopeError!);
        }

        Interlocked.Increment(ref emulator.Counters.TokenExchangeGrants);
        var install = new TokenSubject(PitchlyEmulatorCredentialKind.InstallAccessToken, client.ClientId, subject.Subject.OrganizationId, null);
        var family = emulator.Tokens.CreateFamily(install, PitchlyEmulatorDefaults.Scope);
        var outcome = Issue(GrantType, install, scope, options, family);
        outcome.Response!["issued_token_type"] = AccessTokenType;
        return outcome;
    }

    private GrantOutcome Issue(string grantType, TokenSubject subject, string scope, PitchlyEmulatorOptions options, TokenFamily? family)
    {
        var issued = emulator.Tokens.Issue(subject, scope, options.AccessTokenLifetime, family);
        Interlocked.Increment(ref emulator.Counters.AccessTokensIssued);
        emulator.Logger.TokenGranted(grantType, subject.ClientId!, subject.OrganizationId, subject.PersonId, family?.Id);

        var response = new JsonObject
        {
            ["access_token"] = issued.AccessToken,
            ["token_type"] = "Bearer",
            ["expires_in"] = (long)Math.Ceiling(issued.Lifetime.TotalSeconds),
        };
        if (issued.RefreshToken is not null)
        {
            response["refresh_token"] = issued.RefreshToken;
        }

        response["scope"] = issued.Scope;
        return new GrantOutcome(grantType, response, null);
    }

    private void RevokeFamily(TokenFamily family, string reason)
    {
        if (family.TryRevoke())
        {
            Interlocked.Increment(ref emulator.Counters.RevokedFamilies);
            emulator.Logger.FamilyRevoked(family.Id, reason);
        }
    }

    private PitchlyEmulatorClient? Authenticate(HttpContext context, IFormCollection form, out TokenError? error)
    {
        var clientId = Single(form["client_id"]);
        var clientSecret = Single(form["client_secret"]);
        if (clientId is null
            && AuthenticationHeaderValue.TryParse(context.Request.Headers.Authorization, out var header)
            && string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase)
            && header.Parameter is not null)
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter)).Split(':', 2);
                if (pair.Length == 2)
                {
                    clientId = Uri.UnescapeDataString(pair[0]);
                    clientSecret = Uri.UnescapeDataString(pair[1]);
                }
            }
            catch (FormatException)
            {
                clientId = null;
            }
        }

        error = null;
        if (string.IsNullOrEmpty(clientId) || string.IsNullOrEmpty(clientSecret))
        {
            error = TokenError.InvalidClient("Client authentication is required: send client_id and client_secret in the body.");
            return null;
        }

        var client = emulator.FindClient(clientId);
        if (client is null
            || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(client.ClientSecret), Encoding.UTF8.GetBytes(clientSecret)))
        {
            error = TokenError.InvalidClient(client is null
                ? "The client_id names no registered app; check that it is the App ID, not the App Secret."
                : "The client_secret is not this app's secret.");
            return null;
        }

        return client;
    }

    /// <summary>Narrows <paramref name="granted"/> to the requested scope; an empty request means read-only.</summary>
    private static bool TryScope(string? requested, string granted, out string scope, out TokenError? error)
    {
        error = null;
        scope = granted;
        if (requested is null)
        {
            return true;
        }

        var allowed = granted.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var asked = requested.Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToArray();
        var unknown = asked.FirstOrDefault(s => !allowed.Contains(s, StringComparer.Ordinal));
        if (unknown is not null)
        {
            error = new TokenError(StatusCodes.Status400BadRequest, "invalid_scope", $"The scope '{unknown}' is not granted to the app; it may only narrow '{granted}'.");
            return false;
        }

        scope = string.Join(' ', asked);
        return true;
    }

    private static string? Single(StringValues values) => values.Count == 1 ? values[0] : null;

    private static Task WriteJsonAsync(HttpContext context, int statusCode, JsonObject body)
    {
        context.Response.StatusCode = statusCode;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(body.ToJsonString(EmulatorJson.Relaxed), context.RequestAborted);
    }

    private sealed record GrantOutcome(string? GrantType, JsonObject? Response, TokenError? Error)
    {
        public static GrantOutcome Fail(string? grantType, TokenError error) => new(grantType, null, error);
    }

    private sealed record TokenError(int StatusCode, string Error, string Description)
    {
        public static TokenError InvalidRequest(string description) => new(StatusCodes.Status400BadRequest, "invalid_request", description);

        public static TokenError InvalidGrant(string description) => new(StatusCodes.Status400BadRequest, "invalid_grant", description);

        public static TokenError InvalidClient(string description) => new(StatusCodes.Status401Unauthorized, "invalid_client", description);
    }
}
