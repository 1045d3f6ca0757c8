namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>
/// The browsers of the load users: signs users in through an instance and sends their <c>/work</c> calls to any
/// instance, like a load balancer without session affinity.
/// </summary>
public sealed class StormClient : IDisposable
{
    private static readonly TimeSpan SignInTimeout = TimeSpan.FromSeconds(30);
    private readonly HttpClient _http;

    /// <summary>Initializes a new instance; <paramref name="requestTimeout"/> bounds every call.</summary>
    public StormClient(TimeSpan requestTimeout)
    {
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseCookies = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = 4096,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        })
        {
            Timeout = requestTimeout,
        };
    }

    /// <summary>
    /// Signs <paramref name="personId"/> in through <paramref name="instance"/>: follows the redirects from the
    /// instance's challenge to the emulator's authorize endpoint (choosing the person with the emulator-only
    /// <c>person_id</c> parameter) and back to the instance's callback, and returns the cookie the instance set.
    /// </summary>
    public static async Task<StormUser> SignInAsync(StormInstance instance, string personId, CancellationToken cancellationToken = default)
    {
        var cookies = new CookieContainer();
        using var handler = new SocketsHttpHandler { CookieContainer = cookies, AllowAutoRedirect = false, UseCookies = true };
        using var http = new HttpClient(handler) { Timeout = SignInTimeout };
        var next = new Uri(instance.BaseAddress, "/login");
        var trail = new List<string>();
        for (var hop = 0; hop < 10; hop++)
        {
            if (next.AbsolutePath.EndsWith("/oauth/authorize", StringComparison.Ordinal))
            {
                next = new Uri(next + "&person_id=" + Uri.EscapeDataString(personId));
            }

            trail.Add(next.GetLeftPart(UriPartial.Path));
            if (!IPAddress.IsLoopback(IPAddress.Parse(next.Host)))
            {
                throw new InvalidOperationException($"Sign-in redirected away from 127.0.0.1: {next.GetLeftPart(UriPartial.Path)}");
            }

            using var response = await http.GetAsync(next, cancellationToken);
            if (response.StatusCode is HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.Redirect or HttpStatusCode.TemporaryRedirect)
            {
                next = new Uri(next, response.Headers.Location!);
                continue;
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK || body.Trim() != personId)
            {
                throw new InvalidOperationException(
                    $"Signing {personId} in through {instance} ended with {(int)response.StatusCode} '{Truncate(body)}' after {string.Join(" → ", trail)}.");
            }

            return new StormUser(personId, cookies.GetCookieHeader(instance.BaseAddress), Header(response, StormHeaders.TokenFingerprint));
        }

        throw new InvalidOperationException($"Signing {personId} in through {instance} did not end after 10 redirects: {string.Join(" → ", trail)}.");
    }

    /// <summary>Sends one <c>GET /work</c> as <paramref name="user"/> to <paramref name="instance"/>; never throws for a failed call.</summary>
    public Task<WorkOutcome> WorkAsync(StormInstance instance, StormUser user, CancellationToken cancellationToken = default) =>
        WorkAsync(instance, user, Stopwatch.GetTimestamp(), cancellationToken);

    /// <summary>
    /// Sends one <c>GET /work</c> whose latency counts from <paramref name="scheduledAt"/> (a <see cref="Stopwatch"/>
    /// timestamp, the time an open-loop schedule meant it to start), so a late start shows in its latency.
    /// </summary>
    public async Task<WorkOutcome> WorkAsync(StormInstance instance, StormUser user, long scheduledAt, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(instance.BaseAddress, "/work"));
        request.Headers.Add("Cookie", user.CookieHeader);
        var started = scheduledAt;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            var latency = Stopwatch.GetElapsedTime(started);
            var waited = Header(response, StormHeaders.RefreshWaited) == "1";
            var wait = double.TryParse(Header(response, StormHeaders.RefreshWaitMilliseconds), NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds)
                ? TimeSpan.FromMilliseconds(milliseconds)
                : (TimeSpan?)null;
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return new WorkOutcome(200, latency, waited, Header(response, StormHeaders.TokenFingerprint), null) { RefreshWait = wait };
            }

            return new WorkOutcome((int)response.StatusCode, latency, waited, null, Header(response, StormHeaders.Outcome) ?? "unexplained") { RefreshWait = wait };
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var reason = e is TaskCanceledException ? "client-timeout" : "transport:" + ((HttpRequestException)e).HttpRequestError;
            return new WorkOutcome(0, Stopwatch.GetElapsedTime(started), false, null, reason);
        }
    }

    /// <summary>Gets, and makes <paramref name="instance"/> forget, the durations of its token requests since it was last asked (milliseconds).</summary>
    public async Task<IReadOnlyList<double>> DrainTokenRequestTimesAsync(StormInstance instance, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        return await _http.GetFromJsonAsync<double[]>(new Uri(instance.BaseAddress, StormHeaders.TokenRequestsPath), cancellationToken) ?? [];
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
