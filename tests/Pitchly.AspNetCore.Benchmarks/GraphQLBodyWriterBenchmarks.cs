using System.Text;
using BenchmarkDotNet.Attributes;
using Pitchly.AspNetCore.Internal.Http;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>Finding where <c>variables.accessToken</c> goes in a GraphQL body (the splice behind GraphQL-variable placement).</summary>
[ShortRunJob]
[MemoryDiagnoser]
public class GraphQLBodyWriterBenchmarks
{
    private static readonly GraphQLBodyWriter.VariableName AccessToken = new(PitchlyAccessTokenHandler.AccessTokenVariable);
    private byte[] _body = null!;

    [Params(BodySize.Small, BodySize.Large100KB)]
    public BodySize Request { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = Request == BodySize.Small ? CannedPitchly.SmallRequest : CannedPitchly.LargeRequest;
        if (GraphQLBodyWriter.TrySetVariable(_body, AccessToken, CannedPitchly.AccessToken) is not { } splice
            || !Encoding.UTF8.GetString(splice.Inserted).Contains(CannedPitchly.AccessToken, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("Benchmark set-up check failed: the body writer did not write the variable.");
        }
    }

    [Benchmark]
    public int TrySetVariable() => GraphQLBodyWriter.TrySetVariable(_body, AccessToken, CannedPitchly.AccessToken)?.Inserted.Length ?? 0;
}
