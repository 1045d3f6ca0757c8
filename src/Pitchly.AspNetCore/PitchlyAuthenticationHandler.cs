using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OAuth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal;
using Pitchly.AspNetCore.Internal.Authentication;
using Pitchly.AspNetCore.Internal.Replay;

namespace Pitchly.AspNetCore;

/// <summary>
/// Handles "Sign in with Pitchly": the authorization code flow with PKCE, then Pitchly's identity query for the
/// claims. The tokens go to <see cref="IPitchlyTokenStore"/> under the person's key, never into the ticket.
/// </summary>
/// <remarks>
/// Every failure (an HTML or malformed token response, an OAuth error, an identity query answered with errors or
/// without data) ends the sign-in as a remote failure whose message says what went wrong and never contains a
/// token, code, verifier or secret; handle it with <see cref="RemoteAuthenticationEvents.OnRemoteFailure"/>.
/// </remarks>
public class PitchlyAuthenticationHandler : OAuthHandler<PitchlyAuthenticationOptions>
{
    private const string GraphQLEndpointName = "Pitchly's GraphQL endpoint";

    // The identity answer is a handful of short strings.
    private const int MaxIdentityResponseBytes = 256 * 1024;

    // The replay rule at sign-in, bounded to one replay: no other call holds a token issued a moment ago, so its refused
    // replay is no kill met in flight, and the sign-in fails like any identity problem rather than spend refresh tokens.
    private const int MaxIdentityRejections = 2;

    private readonly IPitchlyTokenStore _tokenStore;

    // The tokens of this request's sign-in, kept until the app accepts the ticket (handlers live for one request).
    private (PitchlyTokenKey Key, PitchlyTokenRecord Record, PitchlySession Session, string PersonId, string OrganizationId)? _pendingTokens;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="options">The scheme's options.</param>
    /// <param name="logger">Creates the handler's logger.</param>
    /// <param name="encoder">Encodes URLs.</param>
    /// <param name="tokenStore">Where the tokens of signed-in people are kept.</param>
    public PitchlyAuthenticationHandler(
        IOptionsMonitor<PitchlyAuthenticationOptions> options,
        ILoggerFactory logger,
        UrlEncoder encoder,
        IPitchlyTokenStore tokenStore)
        : base(options, logger, encoder)
    {
        ArgumentNullException.ThrowIfNull(tokenStore);
        _tokenStore = tokenStore;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Wraps the app's events so that the tokens are stored only once <see cref="RemoteAuthenticationEvents.OnTicketReceived"/>
    /// has let the ticket through; every event still reaches the app's handlers unchanged.
    /// </remarks>
    protected override async Task InitializeEventsAsync()
    {
        await base.InitializeEventsAsync();
        Events = new StoreTokensOnAcceptedTicketEvents(Events, StorePendingTokensAsync);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A challenge without <see cref="AuthenticationProperties.RedirectUri"/> returns to the page that was asked for, as
    /// in every remote handler, but only when <see cref="PitchlyReturnUrl.IsLocal"/> accepts it: a catch-all route reached
    /// at <c>//evil.example/x</c> returns to the app's root instead of another host. A redirect URI the app sets is its own.
    /// </remarks>
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        if (string.IsNullOrEmpty(properties.RedirectUri))
        {
            properties.RedirectUri = PitchlyReturnUrl.ThisPageOrRoot(OriginalPathBase, OriginalPath, Request.QueryString);
        }

        return base.HandleChallengeAsync(properties);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Sends the client credentials in the form body, as Pitchly expects, and interprets the answer by its
    /// <c>error</c> member rather than by its status, as Pitchly's own clients do.
    /// </remarks>
    protected override async Task<OAuthTokenResponse> ExchangeCodeAsync(OAuthCodeExchangeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var parameters = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = context.Code,
            ["redirect_uri"] = context.RedirectUri,
            ["client_id"] = Options.ClientId,
            ["client_secret"] = Options.ClientSecret,
        };

        if (context.Properties.Items.TryGetValue(OAuthConstants.CodeVerifierKey, out var codeVerifier) && codeVerifier is not null)
        {
            parameters[OAuthConstants.CodeVerifierKey] = codeVerifier;
            context.Properties.Items.Remove(OAuthConstants.CodeVerifierKey);
        }

        return await RequestTokensAsync(parameters, "the authorization code");
    }

    private async Task<OAuthTokenResponse> RequestTokensAsync(Dictionary<string, string> parameters, string grant)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Options.TokenEndpoint)
        {
            Content = new FormUrlEncodedContent(parameters),
            Version = Backchannel.DefaultRequestVersion,
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        try
        {
            using var response = await Backchannel.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Context.RequestAborted);
            var document = await BackchannelJson.ReadObjectAsync(response, TokenEndpointResponse.Endpoint, TokenEndpointResponse.MaxBytes, Context.RequestAborted);
            var tokens = TokenEndpointResponse.Interpret(document, response.StatusCode, grant);
            if (tokens.Error is not null)
            {
                Logger.TokenExchangeFailed(tokens.Error.Message);
            }

            return tokens;
        }
        catch (AuthenticationFailureException exception)
        {
            Logger.TokenExchangeFailed(exception.Message);
            return OAuthTokenResponse.Failed(exception);
        }
    }

    /// <summary>
    /// The replay rule at sign-in: Pitchly may invalidate a token early, even one issued a moment ago, so an identity
    /// query that refuses the new access token is answered by spending the refresh token just received.
    /// </summary>
    private async Task<OAuthTokenResponse> RefreshRejectedSignInTokensAsync(string refreshToken)
    {
        Logger.SignInAccessTokenRejected();
        var refreshed = await RequestTokensAsync(
            new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token",
                ["refresh_token"] = refreshToken,
                ["client_id"] = Options.ClientId,
                ["client_secret"] = Options.ClientSecret,
            },
            "the refresh token issued at sign-in");
        if (refreshed.Error is not null)
        {
            throw new AuthenticationFailureException(refreshed.Error.Message, refreshed.Error);
        }

        return refreshed;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Runs the identity query with the new access token, maps its answer to claims through
    /// <see cref="OAuthOptions.ClaimActions"/> and raises <see cref="OAuthEvents.OnCreatingTicket"/>. The tokens are
    /// stored under <see cref="PitchlyTokenKey.ForUser"/> of the person and organization the query returned once
    /// <see cref="RemoteAuthenticationEvents.OnTicketReceived"/> accepted the ticket, never for a ticket the app
    /// handled, skipped or failed there.
    /// </remarks>
    protected override async Task<AuthenticationTicket> CreateTicketAsync(ClaimsIdentity identity, AuthenticationProperties properties, OAuthTokenResponse tokens)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(properties);
        ArgumentNullException.ThrowIfNull(tokens);

        var accessToken = tokens.AccessToken ?? throw new AuthenticationFailureException($"{TokenEndpointResponse.Endpoint} answered without an access_token.");
        var lifetime = ReadLifetime(tokens.ExpiresIn);

        var issued = tokens;
        var replay = new ReplaySequence(TimeProvider, Timeout.InfiniteTimeSpan, MaxIdentityRejections);
        JsonDocument answer;
        while (true)
        {
            try
            {
                answer = await QueryIdentityAsync(accessToken, replay, mayBeRefreshed: !string.IsNullOrEmpty(tokens.RefreshToken));
                break;
            }
            catch (AccessTokenRejectedException rejected)
            {
                var refreshed = await RefreshRejectedSignInTokensAsync(tokens.RefreshToken!);
                if (!ReferenceEquals(tokens, issued))
                {
                    tokens.Dispose();
                }

                tokens = refreshed;
                accessToken = tokens.AccessToken ?? throw new AuthenticationFailureException($"{TokenEndpointResponse.Endpoint} answered without an access_token.");
                lifetime = ReadLifetime(tokens.ExpiresIn);
                if (!replay.MayReplayWith(accessToken))
                {
                    throw IdentityFailure(rejected.Message);
                }
            }
        }

        using var identityAnswer = answer;

        // The base handler disposes the response it passed in; a refreshed one is this method's to dispose.
        using var refreshedTokens = ReferenceEquals(tokens, issued) ? null : tokens;
        var data = identityAnswer.RootElement.GetProperty("data");
        var organizationId = PitchlyIdentityJson.GetString(data, "organization", "id");
        var personId = PitchlyIdentityJson.GetString(data, "viewer", "person", "id");
        if (string.IsNullOrEmpty(organizationId) || string.IsNullOrEmpty(personId))
        {
            throw IdentityFailure(string.IsNullOrEmpty(organizationId)
                ? $"{GraphQLEndpointName} answered the identity query without organization.id."
                : $"{GraphQLEndpointName} answered the identity query without viewer.person.id.");
        }

        // Every sign-in is a session of its own: the cookie carries its id, the person's record its list of live ones.
        var issuedAt = TimeProvider.GetUtcNow();
        var session = new PitchlySession(PitchlySessions.NewId(), issuedAt);
        identity.AddClaim(new Claim(PitchlyClaimTypes.SessionId, session.Id, ClaimValueTypes.String, ClaimsIssuer));

        var context = new OAuthCreatingTicketContext(new ClaimsPrincipal(identity), properties, Context, Scheme, Options, Backchannel, tokens, data);
        context.RunClaimActions();
        await Events.CreatingTicket(context);
        if (PitchlySessions.IdOf(context.Principal) != session.Id && context.Principal?.Identity is ClaimsIdentity replaced)
        {
            // The app built a principal of its own: the session still has to reach the cookie.
            foreach (var stale in replaced.FindAll(PitchlyClaimTypes.SessionId).ToList())
            {
                replaced.TryRemoveClaim(stale);
            }

            replaced.AddClaim(new Claim(PitchlyClaimTypes.SessionId, session.Id, ClaimValueTypes.String, ClaimsIssuer));
        }

        var record = new PitchlyTokenRecord
        {
            AccessToken = accessToken,
            RefreshToken = string.IsNullOrEmpty(tokens.RefreshToken) ? null : tokens.RefreshToken,
            IssuedAt = issuedAt,
            ExpiresAt = issuedAt + lifetime,
            Scope = tokens.Response is { } response ? PitchlyIdentityJson.GetString(response.RootElement, "scope") : null,
            OrganizationId = organizationId,
        };
        _pendingTokens = (PitchlyTokenKey.ForUser(organizationId, personId), record, session, personId, organizationId);

        return new AuthenticationTicket(context.Principal!, context.Properties, Scheme.Name);
    }

    private async Task StorePendingTokensAsync(TicketReceivedContext context)
    {
        if (_pendingTokens is not { } pending)
        {
            return;
        }

        _pendingTokens = null;

        // Not tied to the browser request: the code is spent, and these tokens are the only ones Pitchly issued for it.
        var (stored, dropped) = await PitchlySessions.SignInAsync(_tokenStore, pending.Key, pending.Record, pending.Session, CancellationToken.None);
        if (dropped > 0)
        {
            Logger.OldestSessionsEnded(pending.Key, dropped, PitchlySessions.MaxSessionsPerPerson);
        }

        Logger.SignedIn(pending.PersonId, pending.OrganizationId, pending.Record.ExpiresAt);
        Logger.SessionStarted(pending.Key, stored.Sessions?.Count ?? 1);
    }

    private TimeSpan ReadLifetime(string? expiresIn)
    {
        if (string.IsNullOrEmpty(expiresIn))
        {
            Logger.ExpiresInMissing(Options.DefaultAccessTokenLifetime);
            return Options.DefaultAccessTokenLifetime;
        }

        if (!long.TryParse(expiresIn, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
        {
            var problem = $"{TokenEndpointResponse.Endpoint} answered with an expires_in that is not a positive number of seconds.";
            Logger.TokenExchangeFailed(problem);
            throw new AuthenticationFailureException(problem);
        }

        return TimeSpan.FromSeconds(seconds);
    }

    private async Task<JsonDocument> QueryIdentityAsync(string accessToken, ReplaySequence replay, bool mayBeRefreshed)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Options.GraphQLEndpoint)
        {
            Content = JsonContent.Create(new IdentityQuery(PitchlyIdentityJson.Query)),
            Version = Backchannel.DefaultRequestVersion,
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);

        using var response = await Backchannel.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Context.RequestAborted);
        JsonDocument document;
        try
        {
            document = await BackchannelJson.ReadObjectAsync(response, GraphQLEndpointName, MaxIdentityResponseBytes, Context.RequestAborted);
        }
        catch (AuthenticationFailureException exception)
        {
            Logger.IdentityQueryFailed(exception.Message);
            throw;
        }

        var problem = FindIdentityProblem(document.RootElement, (int)response.StatusCode, accessToken);
        if (problem is not null)
        {
            var rejected = ConfiguredInvalidTokenRule().IsInvalidToken(response.StatusCode, JsonMarshal.GetRawUtf8Value(document.RootElement));
            document.Dispose();
            if (rejected && mayBeRefreshed)
            {
                replay.Rejected(accessToken);
                if (replay.HasRoom)
                {
                    throw new AccessTokenRejectedException(problem);
                }
            }

            throw IdentityFailure(problem);
        }

        return document;
    }

    private AuthenticationFailureException IdentityFailure(string problem)
    {
        Logger.IdentityQueryFailed(problem);
        return new AuthenticationFailureException(problem);
    }

    private static string? FindIdentityProblem(JsonElement root, int status, string accessToken)
    {
        // Pitchly answers 200 with data: null and errors when the token is refused; errors come first in the message.
        if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
        {
            return $"{GraphQLEndpointName} answered the identity query with errors (status {status}): {DescribeError(errors[0], accessToken)}";
        }

        if (status is < 200 or > 299)
        {
            return $"{GraphQLEndpointName} answered the identity query with status {status}.";
        }

        if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
        {
            return $"{GraphQLEndpointName} answered the identity query without data.";
        }

        return null;
    }

    /// <summary>
    /// Pitchly's invalid-token signals as every other call recognises them, with the codes of <c>Pitchly:AccessToken</c>
    /// (the default-named <see cref="PitchlyAccessTokenHandlerOptions"/>, which <c>AddPitchly</c> binds); their defaults
    /// when the app runs without them.
    /// </summary>
    private InvalidTokenRule ConfiguredInvalidTokenRule()
    {
        var options = Context.RequestServices.GetService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>()?.CurrentValue ?? new PitchlyAccessTokenHandlerOptions();
        return new InvalidTokenRule(options.InvalidTokenErrorCodes);
    }

    private static string DescribeError(JsonElement error, string accessToken)
    {
        const int MaxMessageLength = 200;
        var code = PitchlyIdentityJson.GetString(error, "extensions", "code") ?? PitchlyIdentityJson.GetString(error, "data", "error");
        var message = PitchlyIdentityJson.GetString(error, "message") ?? "no message";

        // A server that echoes the request must not put the token into an exception message. Redacted before it is
        // shortened: a token cut in two by the shortening would no longer be found, and its first half would remain.
        message = SecretRedaction.Redact(message.Replace(accessToken, "[access token]", StringComparison.Ordinal));
        if (message.Length > MaxMessageLength)
        {
            message = string.Concat(message.AsSpan(0, MaxMessageLength), "…");
        }

        return code is null ? message : $"{code}: {message}";
    }

    private sealed record IdentityQuery(string Query);

    /// <summary>The identity query refused the access token and the replay rule allows another try: the sign-in refreshes rather than failing.</summary>
    private sealed class AccessTokenRejectedException(string message) : Exception(message);
}
