using System.Diagnostics;
using System.Globalization;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// The small-request <see cref="AccessTokenHandlerBenchmarks"/> rows without a handler, with Duende's
/// <c>RefreshTokenDelegatingHandler</c> and with the Pitchly handler (Bearer placement), measured in alternating batches
/// in one process: on a shared machine, whatever load comes and goes falls on all three alike, so their differences mean
/// something where BenchmarkDotNet cases minutes apart do not. Prints, per client, the fastest batch, the 10th
/// percentile and the median of the per-call time, and the Bearer placement's difference to each peer.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project tests/Pitchly.AspNetCore.Benchmarks -- --handler-interleaved [batches]</c>.
/// Each batch is 5,000 calls; every call completes synchronously (the canned answer), so the loop waits on nothing.
/// </remarks>
internal static class HandlerInterleaved
{
    private const int Batch = 5_000;

    public static async Task RunAsync(string[] args)
    {
        var batches = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 400;
        using var clients = await PitchlyClients.CreateAsync();
        var body = CannedPitchly.SmallRequest;
        (string Name, HttpClient Client)[] rows = [("NoPitchlyHandler", clients.Baseline), ("DuendeRefreshTokenHandler", clients.DuendeRefreshToken), ("BearerHeader", clients.Bearer)];
        var times = rows.Select(_ => new List<double>(batches)).ToArray();
        foreach (var (_, client) in rows)
        {
            Measure(clients, client, body, 100_000);
        }

        for (var batch = 0; batch < batches; batch++)
        {
            for (var row = 0; row < rows.Length; row++)
            {
                // The order rotates, so no client always runs right after the same other one.
                var at = (row + batch) % rows.Length;
                times[at].Add(Measure(clients, rows[at].Client, body, Batch));
            }
        }

        clients.EnsureTokenEndpointUnused();
        foreach (var list in times)
        {
            list.Sort();
        }

        for (var row = 0; row < rows.Length; row++)
        {
            var sorted = times[row];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rows[row].Name,-26} min {sorted[0],7:F1}  p10 {Percentile(sorted, 0.1),7:F1}  median {Percentile(sorted, 0.5),7:F1} ns"));
        }

        var bearer = times[2];
        for (var row = 0; row < 2; row++)
        {
            var peer = times[row];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"BearerHeader - {rows[row].Name,-26} min {bearer[0] - peer[0],7:F1}  p10 {Percentile(bearer, 0.1) - Percentile(peer, 0.1),7:F1}  median {Percentile(bearer, 0.5) - Percentile(peer, 0.5),7:F1} ns"));
        }
    }

    /// <summary>Makes <paramref name="calls"/> calls; returns the mean time of one, in nanoseconds.</summary>
    private static double Measure(PitchlyClients clients, HttpClient client, byte[] body, int calls)
    {
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            var sent = clients.SendAsync(client, body);
            if (!sent.IsCompleted)
            {
                throw new InvalidOperationException("A canned call did not complete synchronously.");
            }

            sent.GetAwaiter().GetResult();
        }

        return Stopwatch.GetElapsedTime(started).TotalNanoseconds / calls;
    }

    private static double Percentile(List<double> sorted, double quantile) => sorted[(int)(quantile * (sorted.Count - 1))];
}
