using BenchmarkDotNet.Attributes;
using Pitchly.AspNetCore.Internal.Http;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>Writing <c>variables.accessToken</c> into a GraphQL body (the splice behind GraphQL-variable placement).</summary>
[ShortRunJob]
[MemoryDiagnoser]
public class GraphQLBodyWriterBenchmarks
{
    private byte[] _body = null!;

    [Params(BodySize.Small, BodySize.Large100KB)]
    public BodySize Request { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = Request == BodySize.Small ? CannedPitchly.SmallRequest : CannedPitchly.LargeRequest;
        if (TrySetVariable() is not { } written || written.Length <= _body.Length)
        {
            throw new InvalidOperationException("Benchmark set-up check failed: the body writer did not write the variable.");
        }
    }

    [Benchmark]
    public byte[]? TrySetVariable() => GraphQLBodyWriter.TrySetVariable(_body, PitchlyAccessTokenHandler.AccessTokenVariable, CannedPitchly.AccessToken);
}
