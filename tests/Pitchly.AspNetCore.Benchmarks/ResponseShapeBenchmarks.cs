using BenchmarkDotNet.Attributes;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// The handler's response inspection end to end (Bearer placement, small request), by the shape of Pitchly's answer:
/// a <c>data</c>-first answer is peeked at and streamed on; an <c>errors</c>-first one is read in full and classified.
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class ResponseShapeBenchmarks
{
    private PitchlyClients _clients = null!;

    public enum Shape
    {
        DataFirst,
        DataFirst100KB,
        ErrorsFirst,
    }

    [Params(Shape.DataFirst, Shape.DataFirst100KB, Shape.ErrorsFirst)]
    public Shape Response { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _clients = await PitchlyClients.CreateAsync();
        _clients.Pitchly.ResponseBody = Response switch
        {
            Shape.DataFirst => CannedPitchly.DataFirstResponse,
            Shape.DataFirst100KB => CannedPitchly.LargeDataFirstResponse,
            _ => CannedPitchly.ErrorsFirstResponse,
        };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _clients.EnsureTokenEndpointUnused();
        _clients.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<int> NoPitchlyHandler() => _clients.SendAsync(_clients.Baseline, CannedPitchly.SmallRequest);

    [Benchmark]
    public Task<int> BearerHeader() => _clients.SendAsync(_clients.Bearer, CannedPitchly.SmallRequest);
}
