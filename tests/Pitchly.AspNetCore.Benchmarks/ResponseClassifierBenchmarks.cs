using BenchmarkDotNet.Attributes;
using Pitchly.AspNetCore.Internal.Http;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// The response classifier alone, doing what the handler asks of it for each answer: the peek at the first member
/// (the first read of a small answer, not yet known to be complete), then, when the peek cannot decide, the scan of
/// the whole body for a token error code.
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class ResponseClassifierBenchmarks
{
    private readonly ISet<string> _codes = new PitchlyAccessTokenHandlerOptions().InvalidTokenErrorCodes;

    [GlobalSetup]
    public void Setup()
    {
        if (DataFirstSuccess() || ErrorsFirstNotTokenError() || !DataNullUnauthenticated())
        {
            throw new InvalidOperationException("Benchmark set-up check failed: the classifier does not classify the canned answers as expected.");
        }
    }

    /// <summary>Decided by the peek alone: the answer is streamed on without reading further.</summary>
    [Benchmark(Baseline = true)]
    public bool DataFirstSuccess() => IsInvalidToken(CannedPitchly.DataFirstResponse);

    [Benchmark]
    public bool ErrorsFirstNotTokenError() => IsInvalidToken(CannedPitchly.ErrorsFirstResponse);

    [Benchmark]
    public bool DataNullUnauthenticated() => IsInvalidToken(CannedPitchly.UnauthenticatedResponse);

    private bool IsInvalidToken(byte[] body)
        => PitchlyResponseClassifier.PeekFirstMember(body, isFinalBlock: false) == PitchlyResponseClassifier.FirstMember.NeedsInspection
            && PitchlyResponseClassifier.HasInvalidTokenError(body, _codes);
}
