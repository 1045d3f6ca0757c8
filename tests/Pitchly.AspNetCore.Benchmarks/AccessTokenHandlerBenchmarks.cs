using BenchmarkDotNet.Attributes;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// One GraphQL POST through IHttpClientFactory with a valid token cached, answered <c>data</c>-first: the cost of the
/// access-token handler over the same client without it.
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class AccessTokenHandlerBenchmarks
{
    private PitchlyClients _clients = null!;
    private byte[] _body = null!;

    [Params(BodySize.Small, BodySize.Large100KB)]
    public BodySize Request { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _clients = await PitchlyClients.CreateAsync();
        _body = Request == BodySize.Small ? CannedPitchly.SmallRequest : CannedPitchly.LargeRequest;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _clients.EnsureTokenEndpointUnused();
        _clients.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<int> NoPitchlyHandler() => _clients.SendAsync(_clients.Baseline, _body);

    [Benchmark]
    public Task<int> BearerHeader() => _clients.SendAsync(_clients.Bearer, _body);

    /// <summary>The Bearer placement with the invalid-token codes cleared: only HTTP 401 counts, and no answer is peeked at.</summary>
    [Benchmark]
    public Task<int> BearerStatusOnly() => _clients.SendAsync(_clients.BearerStatusOnly, _body);

    [Benchmark]
    public Task<int> GraphQLVariable() => _clients.SendAsync(_clients.Variable, _body);

    /// <summary>The same client with <c>AddStandardResilienceHandler()</c> instead of the Pitchly handler: the peer.</summary>
    [Benchmark]
    public Task<int> StandardResilienceHandler() => _clients.SendAsync(_clients.StandardResilience, _body);

    /// <summary>The same client with Duende.IdentityModel.OidcClient's <c>RefreshTokenDelegatingHandler</c>: the second peer.</summary>
    [Benchmark]
    public Task<int> DuendeRefreshTokenHandler() => _clients.SendAsync(_clients.DuendeRefreshToken, _body);
}
