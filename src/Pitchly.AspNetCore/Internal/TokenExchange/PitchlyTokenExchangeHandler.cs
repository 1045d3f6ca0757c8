using System.Diagnostics.CodeAnalysis;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Internal.TokenExchange;

/// <summary>
/// Serves <c>MapPitchlyTokenExchange</c>: refuses cross-site and malformed requests, exchanges the App SDK token for
/// the install's long-lived tokens, checks their organization and stores them. Answers carry no token.
/// </summary>
internal sealed partial class PitchlyTokenExchangeHandler
{
    public const string HttpClientName = "Pitchly.TokenExchange";

    private static readonly string[] AccessTokenNames = ["accessToken", "access_token"];
    private static readonly string[] OrganizationIdNames = ["organizationId", "organization_id"];
    private static readonly string[] DatabaseIdNames = ["databaseId", "database_id"];

    private readonly PitchlyTokenClient _tokenClient;
    private readonly IPitchlyTokenStore _store;
    private readonly IOptionsMonitor<PitchlyTokenExchangeOptions> _options;
    private readonly OrganizationVerifier _verifier;
    private readonly TokenExchangeRateLimiter _rateLimiter;
    private readonly TimeProvider _timeProvider;
    private readonly IPitchlyTokenRefreshedHandler[] _refreshedHandlers;
    private readonly ILogger<PitchlyTokenExchangeHandler> _logger;
    private int _forwardedHeadersWarned;

    public PitchlyTokenExchangeHandler(
        PitchlyTokenClient tokenClient,
        IPitchlyTokenStore store,
        IOptionsMonitor<PitchlyTokenExchangeOptions> options,
        OrganizationVerifier verifier,
        TokenExchangeRateLimiter rateLimiter,
        TimeProvider timeProvider,
        IEnumerable<IPitchlyTokenRefreshedHandler> refreshedHandlers,
        ILogger<PitchlyTokenExchangeHandler> logger)
    {
        _tokenClient = tokenClient;
        _store = store;
        _options = options;
        _verifier = verifier;
        _rateLimiter = rateLimiter;
        _timeProvider = timeProvider;
        _refreshedHandlers = refreshedHandlers.ToArray();
        _logger = logger;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var options = _options.CurrentValue;
        var request = context.Request;
        context.Response.Headers.CacheControl = "no-store";
        if (!IsSameOriginOrAllowed(request, options, out var origin))
        {
            LogCrossSiteRefused(_logger, origin);
            await ProblemAsync(context, StatusCodes.Status403Forbidden, "cross-site", "Cross-site request refused",
                "The token exchange accepts requests only from the app's own pages and Pitchly's origins (PitchlyTokenExchangeOptions.AllowedOrigins).");
            return;
        }

        if (!request.HasJsonContentType())
        {
            await ProblemAsync(context, StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "JSON body required",
                "Post the App SDK's onConnect answer as Content-Type: application/json.");
            return;
        }

        WarnOnceIfForwardedHeadersNotApplied(context);
        var clientAddress = TokenExchangeRateLimiter.ClientPartition(context.Connection.RemoteIpAddress);
        if (_rateLimiter.TryAcquireForClientAddress(clientAddress) is { } clientRetryAfter)
        {
            LogRateLimited(_logger, "client address", clientAddress);
            await RateLimitedAsync(context, clientRetryAfter);
            return;
        }

        var body = await BoundedBody.ReadAsync(request.Body, request.ContentLength, options.MaxRequestSize, context.RequestAborted);
        if (body is null)
        {
            await ProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "too-large", "Request body too large",
                $"The token exchange accepts at most {options.MaxRequestSize} bytes.");
            return;
        }

        if (!TryParse(body, out var subjectToken, out var organizationId, out var databaseId) || !TryCreateKey(organizationId, databaseId, out var key))
        {
            await ProblemAsync(context, StatusCodes.Status400BadRequest, "invalid-request", "Malformed token exchange request",
                "The body must be a JSON object {\"accessToken\": \"…\", \"organizationId\": \"…\", \"databaseId\": \"…\"} (databaseId optional), as the App SDK's onConnect gives it.");
            return;
        }

        // Only looked at here: the organization is charged once Pitchly has confirmed it (ChargeOrganizationAsync), so
        // requests that merely claim it, with tokens Pitchly refuses or of another organization, never spend its budget.
        if (_rateLimiter.CheckOrganization(organizationId) is { } organizationRetryAfter)
        {
            LogRateLimited(_logger, "organization", organizationId);
            await RateLimitedAsync(context, organizationRetryAfter);
            return;
        }

        if (!_rateLimiter.TryEnterExchange())
        {
            LogBusy(_logger, options.MaxConcurrentExchanges);
            context.Response.Headers.RetryAfter = "1";
            await ProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "busy", "Token exchange busy",
                $"This server already runs {options.MaxConcurrentExchanges} token exchanges (PitchlyTokenExchangeOptions.MaxConcurrentExchanges); try again in a second.");
            return;
        }

        try
        {
            await ExchangeAndStoreAsync(context, options, subjectToken, organizationId, databaseId, key);
        }
        finally
        {
            _rateLimiter.ExitExchange();
        }
    }

    private async Task ExchangeAndStoreAsync(
        HttpContext context,
        PitchlyTokenExchangeOptions options,
        string subjectToken,
        string organizationId,
        string? databaseId,
        PitchlyTokenKey key)
    {
        PitchlyTokenResponse tokens;
        try
        {
            // From the exchange on, a browser that leaves must not make this server drop tokens Pitchly may have
            // issued (and rotated): the exchange, the check and the write run to the end, bounded by their timeouts.
            tokens = await _tokenClient.ExchangeAsync(options.GrantType, GrantParameters(options, subjectToken), CancellationToken.None);
        }
        catch (PitchlyTokenEndpointException exception) when (exception.Error is "invalid_grant" or "invalid_token" or "invalid_request")
        {
            LogExchangeRefused(_logger, organizationId, exception.Error);
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            await ProblemAsync(context, StatusCodes.Status401Unauthorized, "invalid-app-sdk-token", "App SDK token refused",
                "Pitchly refused the App SDK token: it is expired or not valid. Ask the App SDK for a new one (generateAccessToken) and post it again.");
            return;
        }
        catch (PitchlyTokenEndpointException exception)
        {
            LogExchangeFailed(_logger, organizationId, exception.Error, exception.StatusCode, exception);
            await ProblemAsync(context, StatusCodes.Status502BadGateway, "token-endpoint-failed", "Token exchange failed",
                "Pitchly's token endpoint did not complete the exchange; try again later. The server's log has the details.");
            return;
        }

        if (tokens.OrganizationId is { } namedOrganization && !await ChargeOrganizationAsync(context, namedOrganization))
        {
            return;
        }

        // Where Pitchly's answer names the database, it binds the install: the body may only repeat it.
        if (tokens.DatabaseId is { } grantedDatabase && databaseId is not null && !string.Equals(grantedDatabase, databaseId, StringComparison.Ordinal))
        {
            LogDatabaseMismatch(_logger, organizationId, databaseId, grantedDatabase);
            await ProblemAsync(context, StatusCodes.Status403Forbidden, "database-mismatch", "Database mismatch",
                "The App SDK token is bound to another database than the request's databaseId; nothing was stored.");
            return;
        }

        // A database Pitchly's answer did not name is only the browser's claim until Pitchly's GraphQL API confirms it (in
        // VerifyInstallAsync): storing under it unchecked would let any page write, or overwrite, the tokens of an install
        // it names at will. With verification off nothing is asked, so such a databaseId stays refused.
        var databaseToConfirm = tokens.DatabaseId is null ? databaseId : null;
        if (databaseToConfirm is not null && !options.VerifyOrganization)
        {
            LogDatabaseUnconfirmed(_logger, organizationId, databaseToConfirm);
            await DatabaseUnconfirmedAsync(context);
            return;
        }

        if (tokens.DatabaseId is not null && databaseId is null)
        {
            if (!TryCreateKey(organizationId, tokens.DatabaseId, out var named))
            {
                await ProblemAsync(context, StatusCodes.Status502BadGateway, "token-endpoint-failed", "Token exchange failed",
                    "Pitchly's token endpoint named a database that cannot form an install key; nothing was stored.");
                return;
            }

            key = named;
        }

        // A record already stored for the install is only replaced by tokens proven to be of its organization, even when
        // verification is off for new installs.
        var existing = await _store.GetAsync(key, CancellationToken.None);
        if (!await VerifyInstallAsync(context, tokens, organizationId, databaseToConfirm, options, mustVerify: existing is not null, CancellationToken.None))
        {
            return;
        }

        if (existing?.OrganizationId is { } storedOrganization && !string.Equals(storedOrganization, organizationId, StringComparison.Ordinal))
        {
            LogOrganizationMismatch(_logger, storedOrganization, organizationId);
            await ProblemAsync(context, StatusCodes.Status403Forbidden, "organization-mismatch", "Organization mismatch",
                "The install's stored tokens belong to another organization; nothing was replaced.");
            return;
        }

        var now = _timeProvider.GetUtcNow();
        var stored = await _store.SetAsync(
            key,
            new PitchlyTokenRecord
            {
                AccessToken = tokens.AccessToken,
                ExpiresAt = now + tokens.ExpiresIn,
                IssuedAt = now,
                RefreshToken = tokens.RefreshToken,
                Scope = tokens.Scope,
                OrganizationId = organizationId,
            },
            CancellationToken.None);
        LogStored(_logger, key, stored.Version, tokens.RefreshToken is not null);
        await NotifyAsync(key, stored, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>
    /// Checks that the tokens belong to <paramref name="organizationId"/> and charges the organization Pitchly confirmed,
    /// and that Pitchly confirms <paramref name="databaseToConfirm"/> (when given) for them, both in one GraphQL request;
    /// answers the request and returns <see langword="false"/> when they may not be stored.
    /// </summary>
    private async Task<bool> VerifyInstallAsync(
        HttpContext context,
        PitchlyTokenResponse tokens,
        string organizationId,
        string? databaseToConfirm,
        PitchlyTokenExchangeOptions options,
        bool mustVerify,
        CancellationToken cancellationToken)
    {
        var granted = tokens.OrganizationId;
        InstallVerification? verification = null;
        if (granted is null || databaseToConfirm is not null)
        {
            if (granted is null && databaseToConfirm is null && !options.VerifyOrganization && !mustVerify)
            {
                // Verification is off: the posted organization is trusted, for its budget too.
                LogOrganizationTrusted(_logger, organizationId);
                return await ChargeOrganizationAsync(context, organizationId);
            }

            verification = await _verifier.VerifyAsync(tokens.AccessToken, databaseToConfirm, cancellationToken);
            if (granted is null)
            {
                granted = verification?.OrganizationId;
                if (granted is null)
                {
                    LogOrganizationUnverified(_logger, organizationId);
                    await ProblemAsync(context, StatusCodes.Status502BadGateway, "organization-unverified", "Organization could not be verified",
                        "Pitchly's GraphQL API did not say which organization the tokens belong to, so they were not stored; try again later.");
                    return false;
                }

                if (!await ChargeOrganizationAsync(context, granted))
                {
                    return false;
                }
            }
        }

        if (!string.Equals(granted, organizationId, StringComparison.Ordinal))
        {
            LogOrganizationMismatch(_logger, organizationId, granted);
            await ProblemAsync(context, StatusCodes.Status403Forbidden, "organization-mismatch", "Organization mismatch",
                "The App SDK token belongs to another organization than the request's organizationId; nothing was stored.");
            return false;
        }

        // The GraphQL API looks the database up within the token's organization: it must be the posted one too.
        if (databaseToConfirm is not null
            && (verification is not { DatabaseConfirmed: true } || !string.Equals(verification.OrganizationId, organizationId, StringComparison.Ordinal)))
        {
            LogDatabaseUnconfirmed(_logger, organizationId, databaseToConfirm);
            await DatabaseUnconfirmedAsync(context);
            return false;
        }

        return true;
    }

    private static Task DatabaseUnconfirmedAsync(HttpContext context) =>
        ProblemAsync(context, StatusCodes.Status403Forbidden, "database-unconfirmed", "Database not confirmed by Pitchly",
            "Pitchly did not confirm the request's databaseId as a database of the organization that the App SDK token can see, so it cannot be trusted; nothing was stored.");

    /// <summary>Charges an exchange to the organization Pitchly confirmed; answers 429 and returns <see langword="false"/> over its budget.</summary>
    private async Task<bool> ChargeOrganizationAsync(HttpContext context, string confirmedOrganizationId)
    {
        if (_rateLimiter.ChargeOrganization(confirmedOrganizationId) is not { } retryAfter)
        {
            return true;
        }

        LogRateLimited(_logger, "organization", confirmedOrganizationId);
        await RateLimitedAsync(context, retryAfter);
        return false;
    }

    /// <summary>
    /// A request that carries <c>X-Forwarded-For</c> without the forwarded-headers middleware having applied it (which
    /// leaves <c>X-Original-For</c>) is counted under the proxy's address: every client behind the proxy shares one
    /// budget. Said once per process, as a warning the operator can act on.
    /// </summary>
    private void WarnOnceIfForwardedHeadersNotApplied(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (Volatile.Read(ref _forwardedHeadersWarned) == 0
            && headers.ContainsKey("X-Forwarded-For")
            && !headers.ContainsKey("X-Original-For")
            && Interlocked.Exchange(ref _forwardedHeadersWarned, 1) == 0)
        {
            LogForwardedHeadersNotApplied(_logger, context.Connection.RemoteIpAddress?.ToString());
        }
    }

    private async Task NotifyAsync(PitchlyTokenKey key, PitchlyTokenRecord stored, CancellationToken cancellationToken)
    {
        var context = new PitchlyTokenRefreshedContext(key, new PitchlyAccessToken(stored.AccessToken, stored.ExpiresAt), stored.Scope);
        foreach (var handler in _refreshedHandlers)
        {
            try
            {
                await handler.OnTokenRefreshedAsync(context, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogRefreshedHandlerFailed(_logger, key, handler.GetType().FullName, exception);
            }
        }
    }

    private static KeyValuePair<string, string>[] GrantParameters(PitchlyTokenExchangeOptions options, string subjectToken)
    {
        var parameters = new List<KeyValuePair<string, string>>(options.AdditionalParameters.Count + 2) { new(options.SubjectTokenParameter, subjectToken) };
        if (!string.IsNullOrEmpty(options.SubjectTokenType))
        {
            parameters.Add(new("subject_token_type", options.SubjectTokenType));
        }

        parameters.AddRange(options.AdditionalParameters);
        return [.. parameters];
    }

    /// <summary>
    /// A browser always sends <c>Origin</c> on a POST; it must be the app's own or an allowed one. Without it (a
    /// non-browser client), <c>Sec-Fetch-Site</c>, when present, must not say the request came from another site.
    /// </summary>
    private static bool IsSameOriginOrAllowed(HttpRequest request, PitchlyTokenExchangeOptions options, out string? origin)
    {
        origin = request.Headers.Origin.Count == 1 ? request.Headers.Origin[0] : null;
        if (request.Headers.Origin.Count > 1)
        {
            return false;
        }

        if (origin is not null)
        {
            var own = $"{request.Scheme}://{request.Host.Value}";
            return string.Equals(origin, own, StringComparison.OrdinalIgnoreCase) || options.AllowedOrigins.Contains(origin);
        }

        var fetchSite = request.Headers["Sec-Fetch-Site"].ToString();
        return fetchSite.Length == 0 || fetchSite is "same-origin" or "none";
    }

    // Checked before the exchange: ids that cannot form a key must be refused before Pitchly issues any token.
    private static bool TryCreateKey(string organizationId, string? databaseId, [NotNullWhen(true)] out PitchlyTokenKey? key)
    {
        try
        {
            key = PitchlyTokenKey.ForInstall(organizationId, databaseId);
            return true;
        }
        catch (ArgumentException)
        {
            key = null;
            return false;
        }
    }

    private static bool TryParse(byte[] body, out string subjectToken, out string organizationId, out string? databaseId)
    {
        subjectToken = organizationId = string.Empty;
        databaseId = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || GetString(root, AccessTokenNames) is not { Length: > 0 } token
                || GetString(root, OrganizationIdNames) is not { Length: > 0 } organization
                || string.IsNullOrWhiteSpace(organization))
            {
                return false;
            }

            var database = GetString(root, DatabaseIdNames);
            if (database is null && DatabaseIdNames.Any(name => root.TryGetProperty(name, out var value) && value.ValueKind is not JsonValueKind.Null))
            {
                return false;
            }

            subjectToken = token;
            organizationId = organization;
            databaseId = string.IsNullOrWhiteSpace(database) ? null : database;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? GetString(JsonElement root, string[] names)
    {
        foreach (var name in names)
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
            {
                return value.GetString();
            }
        }

        return null;
    }

    private static Task RateLimitedAsync(HttpContext context, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ProblemAsync(context, StatusCodes.Status429TooManyRequests, "rate-limited", "Too many token exchange requests",
            $"Too many token exchange requests; try again in {seconds} seconds (PitchlyTokenExchangeOptions.PermitsPerClientAddress, PermitsPerOrganization).");
    }

    /// <summary>An RFC 9457 problem; <paramref name="error"/> goes in the <c>error</c> member so page scripts can tell cases apart.</summary>
    private static Task ProblemAsync(HttpContext context, int status, string error, string title, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["error"] = error }).ExecuteAsync(context);

    [LoggerMessage(EventId = 2140, Level = LogLevel.Information, Message = "Stored the install tokens of {Key} from an App SDK token exchange (version {Version}, refresh token: {HasRefreshToken}).")]
    private static partial void LogStored(ILogger logger, PitchlyTokenKey key, long version, bool hasRefreshToken);

    [LoggerMessage(EventId = 2141, Level = LogLevel.Warning, Message = "Refused a token exchange request from origin {Origin}: not the app's own origin nor an allowed one.")]
    private static partial void LogCrossSiteRefused(ILogger logger, string? origin);

    [LoggerMessage(EventId = 2142, Level = LogLevel.Information, Message = "Pitchly refused the App SDK token posted for organization {OrganizationId}: {Error}.")]
    private static partial void LogExchangeRefused(ILogger logger, string organizationId, string? error);

    [LoggerMessage(EventId = 2143, Level = LogLevel.Error, Message = "The App SDK token exchange for organization {OrganizationId} failed at Pitchly's token endpoint: {Error}, HTTP {StatusCode}.")]
    private static partial void LogExchangeFailed(ILogger logger, string organizationId, string? error, int? statusCode, Exception exception);

    [LoggerMessage(EventId = 2144, Level = LogLevel.Warning, Message = "A token exchange posted for organization {OrganizationId} returned tokens of organization {GrantedOrganizationId}; nothing was stored.")]
    private static partial void LogOrganizationMismatch(ILogger logger, string organizationId, string grantedOrganizationId);

    [LoggerMessage(EventId = 2145, Level = LogLevel.Warning, Message = "Could not verify which organization the exchanged tokens posted for {OrganizationId} belong to; nothing was stored.")]
    private static partial void LogOrganizationUnverified(ILogger logger, string organizationId);

    [LoggerMessage(EventId = 2146, Level = LogLevel.Debug, Message = "Pitchly's answer does not name the organization and verification is off: trusting the posted organization {OrganizationId}.")]
    private static partial void LogOrganizationTrusted(ILogger logger, string organizationId);

    [LoggerMessage(EventId = 2148, Level = LogLevel.Warning, Message = "Refused a token exchange request over the rate limit per {Partition} {PartitionKey}.")]
    private static partial void LogRateLimited(ILogger logger, string partition, string partitionKey);

    [LoggerMessage(EventId = 2149, Level = LogLevel.Warning, Message = "A token exchange posted for organization {OrganizationId} and database {DatabaseId} returned tokens bound to database {GrantedDatabaseId}; nothing was stored.")]
    private static partial void LogDatabaseMismatch(ILogger logger, string organizationId, string databaseId, string grantedDatabaseId);

    [LoggerMessage(EventId = 2150, Level = LogLevel.Warning, Message = "A token exchange request arrived with X-Forwarded-For that was not applied: the rate limit per client address counts the proxy {RemoteAddress}, so every client behind it shares one budget. Call app.UseForwardedHeaders() before the endpoint, with the proxy in KnownProxies or KnownNetworks. Logged once.")]
    private static partial void LogForwardedHeadersNotApplied(ILogger logger, string? remoteAddress);

    [LoggerMessage(EventId = 2151, Level = LogLevel.Warning, Message = "A token exchange posted for organization {OrganizationId} named database {DatabaseId}, which Pitchly did not confirm for the token; nothing was stored.")]
    private static partial void LogDatabaseUnconfirmed(ILogger logger, string organizationId, string databaseId);

    [LoggerMessage(EventId = 2152, Level = LogLevel.Warning, Message = "Refused a token exchange request: {MaxConcurrentExchanges} exchanges are already in flight.")]
    private static partial void LogBusy(ILogger logger, int maxConcurrentExchanges);

    [LoggerMessage(EventId = 2147, Level = LogLevel.Error, Message = "The token-refreshed handler {Handler} failed for {Key}; the tokens are stored.")]
    private static partial void LogRefreshedHandlerFailed(ILogger logger, PitchlyTokenKey key, string? handler, Exception exception);
}
