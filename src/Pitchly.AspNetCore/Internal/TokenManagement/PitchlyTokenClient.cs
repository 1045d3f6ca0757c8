using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>
/// Sends grants to Pitchly's token endpoint: a form-encoded POST with the client credentials in the body, as Pitchly
/// expects. Reads the answer the way Pitchly's own clients do (the <c>error</c> member decides, not the status) and
/// turns anything that is not a token response into a <see cref="PitchlyTokenEndpointException"/> without echoing it.
/// </summary>
internal sealed partial class PitchlyTokenClient
{
    public const string HttpClientName = "Pitchly.TokenEndpoint";

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly PitchlyMetrics _metrics;
    private readonly ILogger<PitchlyTokenClient> _logger;

    public PitchlyTokenClient(
        IHttpClientFactory httpClientFactory,
        IOptionsMonitor<PitchlyTokenManagementOptions> options,
        PitchlyMetrics metrics,
        ILogger<PitchlyTokenClient> logger)
    {
        _httpClientFactory = httpClientFactory;
        _options = options;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>Sends a refresh_token grant that gives up after <paramref name="timeout"/> (the end of its fence).</summary>
    public Task<PitchlyTokenResponse> RefreshAsync(string refreshToken, TimeSpan timeout, CancellationToken cancellationToken)
        => RequestAsync("refresh_token", [new("refresh_token", refreshToken)], cancellationToken, timeout);

    public Task<PitchlyTokenResponse> ClientCredentialsAsync(string organizationId, CancellationToken cancellationToken)
        => RequestAsync("client_credentials", [new("organization_id", organizationId)], cancellationToken);

    /// <summary>
    /// True when Pitchly certainly did not spend the refresh token of a failed refresh_token grant: no connection was
    /// established, or Pitchly answered with an OAuth error (other than <c>invalid_grant</c>, which says it is spent or
    /// revoked). A timeout, a dropped connection or an unreadable answer leaves it unknown.
    /// </summary>
    public static bool IsDefinitelyNotSpent(Exception exception)
        => IsConnectionNotEstablished(exception)
            || exception is PitchlyTokenEndpointException { Error: { } error } && error != "invalid_grant";

    /// <summary>
    /// Exchanges a token for tokens of the app (the App SDK's long-lived tokens), with the grant type and parameters
    /// the caller names, since Pitchly does not publish this grant's wire format.
    /// </summary>
    public Task<PitchlyTokenResponse> ExchangeAsync(string grantType, KeyValuePair<string, string>[] grantParameters, CancellationToken cancellationToken)
        => RequestAsync(grantType, grantParameters, cancellationToken);

    /// <summary>
    /// True when the request certainly never reached Pitchly (no connection was established), so sending the same
    /// grant again cannot spend a refresh token twice.
    /// </summary>
    public static bool IsConnectionNotEstablished(Exception exception)
    {
        if (exception is PitchlyTokenEndpointException { InnerException: { } inner })
        {
            exception = inner;
        }

        if (exception is not HttpRequestException httpException)
        {
            return false;
        }

        if (httpException.HttpRequestError == HttpRequestError.NameResolutionError)
        {
            return true;
        }

        return httpException.InnerException is SocketException socket && socket.SocketErrorCode is
            SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.HostUnreachable or
            SocketError.NetworkUnreachable or SocketError.NetworkDown or SocketError.TryAgain or SocketError.NoData or
            SocketError.AddressNotAvailable;
    }

    private async Task<PitchlyTokenResponse> RequestAsync(string grantType, KeyValuePair<string, string>[] grantParameters, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var options = _options.CurrentValue;
        var requestTimeoutValue = timeout is { } bound && bound < options.TokenRequestTimeout ? bound : options.TokenRequestTimeout;
        if (string.IsNullOrEmpty(options.ClientId) || string.IsNullOrEmpty(options.ClientSecret))
        {
            throw new PitchlyTokenEndpointException(
                $"Cannot send the {grantType} grant: Pitchly's client credentials are not configured. Set Pitchly:ClientId and Pitchly:ClientSecret, or configure them on AddPitchly(...) sign-in.");
        }

        var form = new List<KeyValuePair<string, string>>(grantParameters.Length + 4)
        {
            new("grant_type", grantType),
            new("client_id", options.ClientId),
            new("client_secret", options.ClientSecret),
        };
        form.AddRange(grantParameters);
        if (options.Scope is not null)
        {
            form.Add(new("scope", options.Scope));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, options.TokenEndpoint) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        using var activity = PitchlyMetrics.ActivitySource.StartActivity("Pitchly token request");
        activity?.SetTag("oauth.grant_type", grantType);
        var client = _httpClientFactory.CreateClient(HttpClientName);

        // HttpClient.Timeout ends at the headers; this bound covers the body too, so a request the caller does not
        // cancel (a refresh whose answer must be stored) still cannot hang forever.
        using var requestTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        requestTimeout.CancelAfter(requestTimeoutValue);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, requestTimeout.Token);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw TimedOut(grantType, requestTimeoutValue, exception);
        }
        catch (HttpRequestException exception)
        {
            var unreachable = IsConnectionNotEstablished(exception);
            Count(grantType, unreachable ? "unreachable" : "transport_error");
            LogTransportFailure(_logger, grantType, unreachable, exception);
            throw new PitchlyTokenEndpointException(
                unreachable
                    ? $"Pitchly's token endpoint could not be reached for the {grantType} grant (no connection was established)."
                    : $"The {grantType} grant to Pitchly's token endpoint failed after the request was sent; it is not re-sent because Pitchly may have processed it.",
                error: null,
                statusCode: null,
                exception);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            activity?.SetTag("http.response.status_code", status);
            var cap = options.MaxTokenResponseSize;
            byte[]? body;
            try
            {
                body = await BoundedBody.ReadAsync(response.Content, cap, requestTimeout.Token);
            }
            catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
            {
                throw TimedOut(grantType, requestTimeoutValue, exception);
            }

            if (body is null)
            {
                Count(grantType, "oversized");
                throw new PitchlyTokenEndpointException($"Pitchly's token endpoint answered the {grantType} grant with more than {cap} bytes (HTTP {status}); the answer was refused.", null, status);
            }

            try
            {
                var parsed = Parse(body, grantType, status, response.Content.Headers.ContentType?.MediaType);
                Count(grantType, "success");
                return parsed;
            }
            catch (PitchlyTokenEndpointException exception)
            {
                Count(grantType, exception.Error is { } error ? OAuthErrorCode.ForMetric(error) : "malformed");
                LogRefused(_logger, grantType, status, exception.Error ?? "(not a token response)");
                throw;
            }
        }
    }

    private PitchlyTokenEndpointException TimedOut(string grantType, TimeSpan timeout, Exception exception)
    {
        Count(grantType, "timeout");
        LogTransportFailure(_logger, grantType, connectionNotEstablished: false, exception);
        return new PitchlyTokenEndpointException(
            $"Pitchly's token endpoint did not answer the {grantType} grant within {timeout} (Pitchly:TokenManagement:TokenRequestTimeout); it is not re-sent because Pitchly may have processed it.",
            error: null,
            statusCode: null,
            exception);
    }

    private static PitchlyTokenResponse Parse(byte[] body, string grantType, int status, string? mediaType)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException exception)
        {
            var looksLikeHtml = body.AsSpan().TrimStart(" \t\r\n"u8).StartsWith("<"u8);
            throw new PitchlyTokenEndpointException(
                looksLikeHtml
                    ? $"Pitchly's token endpoint answered the {grantType} grant with HTML (HTTP {status}, {mediaType ?? "no content type"}), not a JSON token response. Check Pitchly:TokenEndpoint."
                    : $"Pitchly's token endpoint answered the {grantType} grant with invalid JSON (HTTP {status}, {mediaType ?? "no content type"}).",
                null,
                status,
                exception);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new PitchlyTokenEndpointException($"Pitchly's token endpoint answered the {grantType} grant with a JSON {root.ValueKind}, not an object (HTTP {status}).", null, status);
            }

            // Pitchly's clients decide on the error member alone, whatever the status.
            if (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
            {
                var code = OAuthErrorCode.Read(error);
                throw new PitchlyTokenEndpointException($"Pitchly's token endpoint refused the {grantType} grant: {code} (HTTP {status}).", code, status);
            }

            var accessToken = GetString(root, "access_token", grantType, status);
            if (string.IsNullOrEmpty(accessToken))
            {
                throw new PitchlyTokenEndpointException($"Pitchly's token endpoint answered the {grantType} grant without an access_token (HTTP {status}).", null, status);
            }

            return new PitchlyTokenResponse(
                accessToken,
                GetExpiresIn(root, grantType, status),
                GetString(root, "refresh_token", grantType, status),
                GetString(root, "scope", grantType, status),
                GetString(root, "organization_id", grantType, status));
        }
    }

    private static string? GetString(JsonElement root, string name, string grantType, int status)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new PitchlyTokenEndpointException($"Pitchly's token endpoint answered the {grantType} grant with a {name} that is not a string (HTTP {status}).", null, status);
    }

    private static TimeSpan GetExpiresIn(JsonElement root, string grantType, int status)
    {
        // Pitchly always sends expires_in; "typically one hour" is the documented lifetime if it ever does not.
        if (!root.TryGetProperty("expires_in", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return TimeSpan.FromHours(1);
        }

        if ((value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds))
            || (value.ValueKind == JsonValueKind.String && double.TryParse(value.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out seconds)))
        {
            if (seconds > 0 && seconds < TimeSpan.MaxValue.TotalSeconds)
            {
                return TimeSpan.FromSeconds(seconds);
            }
        }

        throw new PitchlyTokenEndpointException($"Pitchly's token endpoint answered the {grantType} grant with an expires_in that is not a positive number of seconds (HTTP {status}).", null, status);
    }

    private void Count(string grantType, string outcome)
        => _metrics.TokenRequests.Add(1, new("oauth.grant_type", grantType), new("outcome", outcome));

    [LoggerMessage(EventId = 2020, Level = LogLevel.Warning, Message = "Pitchly's token endpoint did not answer the {GrantType} grant (connection not established: {ConnectionNotEstablished}).")]
    private static partial void LogTransportFailure(ILogger logger, string grantType, bool connectionNotEstablished, Exception exception);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Warning, Message = "Pitchly's token endpoint refused the {GrantType} grant: HTTP {StatusCode}, {Error}.")]
    private static partial void LogRefused(ILogger logger, string grantType, int statusCode, string error);
}
