namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>Talks to the stand-alone emulator's control endpoints (<c>/_emulator/…</c>).</summary>
public sealed class EmulatorClient
{
    private readonly HttpClient _http;

    internal EmulatorClient(HttpClient http, Uri baseAddress)
    {
        _http = http;
        BaseAddress = baseAddress;
    }

    /// <summary>Gets the emulator's address.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Reads the emulator's counters.</summary>
    public async Task<EmulatorStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        var json = await _http.GetStringAsync(new Uri(BaseAddress, "/_emulator/stats"), cancellationToken);
        return EmulatorStats.Parse(json);
    }

    /// <summary>Changes emulator settings at run time (camelCase knobs, e.g. <c>new { tokenEndpointFault = "Delay" }</c>).</summary>
    public async Task ConfigureAsync(object settings, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsJsonAsync(new Uri(BaseAddress, "/_emulator/settings"), settings, cancellationToken);
        await EnsureSuccessAsync(response, "change the emulator's settings", cancellationToken);
    }

    /// <summary>Invalidates the access tokens of <paramref name="personId"/> before they expire.</summary>
    public async Task InvalidateAsync(string personId, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsync(new Uri(BaseAddress, "/_emulator/invalidate?person_id=" + Uri.EscapeDataString(personId)), null, cancellationToken);
        await EnsureSuccessAsync(response, "invalidate a person's tokens", cancellationToken);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"Could not {what}: the emulator answered {(int)response.StatusCode}: {body}");
        }
    }
}
