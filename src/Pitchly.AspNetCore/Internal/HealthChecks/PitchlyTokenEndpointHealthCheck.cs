using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore.Internal.TokenManagement;

namespace Pitchly.AspNetCore.Internal.HealthChecks;

/// <summary>
/// Probes Pitchly's token endpoint without credentials: an empty form POST must come back as a JSON OAuth error (the
/// endpoint is up and is a token endpoint). Nothing secret is sent, and no grant can succeed, so no token is spent.
/// </summary>
internal sealed class PitchlyTokenEndpointHealthCheck : IHealthCheck
{
    private const int MaxResponseSize = 16 * 1024;

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly TimeSpan _timeout;

    public PitchlyTokenEndpointHealthCheck(IHttpClientFactory httpClientFactory, IOptionsMonitor<PitchlyTokenManagementOptions> options, TimeSpan timeout)
    {
        _httpClientFactory = httpClientFactory;
        _options = options;
        _timeout = timeout;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var endpoint = _options.CurrentValue.TokenEndpoint;
        var data = new Dictionary<string, object> { ["endpoint"] = endpoint };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new FormUrlEncodedContent([]) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        try
        {
            using var response = await _httpClientFactory.CreateClient(PitchlyTokenClient.HttpClientName)
                .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            data["status"] = status;
            if (status >= 500)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, $"Pitchly's token endpoint answered HTTP {status}.", data: data);
            }

            var body = await BoundedBody.ReadAsync(response.Content, MaxResponseSize, timeout.Token);
            return IsOAuthError(body)
                ? HealthCheckResult.Healthy("Pitchly's token endpoint is reachable.", data)
                : new HealthCheckResult(context.Registration.FailureStatus, $"Pitchly's token endpoint answered HTTP {status} without a JSON OAuth error; check Pitchly:TokenEndpoint.", data: data);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"Pitchly's token endpoint did not answer within {_timeout.TotalSeconds:0.#} s.", data: data);
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "Pitchly's token endpoint cannot be reached.", exception, data);
        }
    }

    private static bool IsOAuthError(byte[]? body)
    {
        if (body is null or [])
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
