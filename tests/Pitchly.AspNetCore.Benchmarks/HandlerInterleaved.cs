using System.Globalization;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// The small-request <see cref="AccessTokenHandlerBenchmarks"/> rows without a handler, with Duende's
/// <c>RefreshTokenDelegatingHandler</c> and with the Pitchly handler (Bearer placement, with the default invalid-token
/// codes and with them cleared: status only, like Duende's), measured in alternating batches
/// in one process: on a shared machine, whatever load comes and goes falls on all three alike, so their differences mean
/// something where BenchmarkDotNet cases minutes apart do not. Prints, per client, the fastest batch, the 10th
/// percentile and the median of the per-call time, and each Bearer client's difference to each peer.
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
        (string Name, HttpClient Client)[] rows =
        [
            ("NoPitchlyHandler", clients.Baseline),
            ("DuendeRefreshTokenHandler", clients.DuendeRefreshToken),
            ("BearerHeader", clients.Bearer),
            ("BearerStatusOnly", clients.BearerStatusOnly),
        ];
        var calls = rows.Select(row => (Action)(() => SendAtOnce(clients, row.Client, body))).ToArray();
        var times = rows.Select(_ => new BatchTimes(batches)).ToArray();
        foreach (var call in calls)
        {
            BatchTimes.Measure(call, 100_000);
        }

        for (var batch = 0; batch < batches; batch++)
        {
            for (var row = 0; row < rows.Length; row++)
            {
                // The order rotates, so no client always runs right after the same other one.
                var at = (row + batch) % rows.Length;
                times[at].AddBatch(calls[at], Batch);
            }
        }

        clients.EnsureTokenEndpointUnused();
        for (var row = 0; row < rows.Length; row++)
        {
            Console.WriteLine($"{rows[row].Name,-26} {times[row]}");
        }

        // Each Bearer client against each peer (the bare client and Duende's handler).
        for (var client = 2; client < rows.Length; client++)
        {
            for (var row = 0; row < 2; row++)
            {
                var (own, peer) = (times[client], times[row]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rows[client].Name,-16} - {rows[row].Name,-26} min {own.Min - peer.Min,7:F1}  p10 {own.P10 - peer.P10,7:F1}  median {own.Median - peer.Median,7:F1} ns"));
            }
        }
    }

    /// <summary>Makes one call, which must complete synchronously (the canned answer), so the loop waits on nothing.</summary>
    private static void SendAtOnce(PitchlyClients clients, HttpClient client, byte[] body)
    {
        var sent = clients.SendAsync(client, body);
        if (!sent.IsCompleted)
        {
            throw new InvalidOperationException("A canned call did not complete synchronously.");
        }

        sent.GetAwaiter().GetResult();
    }
}
