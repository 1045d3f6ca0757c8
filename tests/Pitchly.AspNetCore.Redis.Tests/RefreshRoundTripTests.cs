using System.Diagnostics;
using System.Globalization;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// The Redis round trips of one refresh, read from <c>MONITOR</c> on the primary (commands run inside scripts are not
/// round trips and are left out), without replicas and with one: the replica waits go on connections of their own.
/// </summary>
public sealed class RefreshRoundTripTests(RedisPrimaryWithReplica replicated) : RedisTestScope('r'), IClassFixture<RedisPrimaryWithReplica>
{
    private const int Refreshes = 10;

    [Fact]
    public async Task A_refresh_without_replicas_takes_a_few_round_trips_on_the_shared_connection()
    {
        var standalone = new RedisServer();
        await standalone.InitializeAsync();
        try
        {
            var (shared, own) = await MeasureAsync(standalone, o => o.AssumeNoReplicas = true);
            Report($"without replicas: {Per(shared)} round trips per refresh on the shared connection, {Per(own)} on the replica-wait connection");
            Assert.Empty(own);
            Assert.DoesNotContain(shared, command => command == "WAIT");
        }
        finally
        {
            await standalone.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_refresh_with_a_replica_waits_only_on_the_replica_wait_connection()
    {
        var (shared, own) = await MeasureAsync(replicated.Primary, o => o.ReplicaAcknowledgementTimeout = TimeSpan.FromSeconds(2));
        Report($"with a replica: {Per(shared)} round trips per refresh on the shared connection, {Per(own)} on the replica-wait connection ({string.Join(", ", own.GroupBy(c => c).Select(g => $"{g.Key} {Per(g.ToList())}"))}; shared: {string.Join(", ", shared.GroupBy(c => c).Select(g => $"{g.Key} {Per(g.ToList())}"))})");
        Assert.DoesNotContain(shared, command => command == "WAIT");
        Assert.Contains(own, command => command == "WAIT");
    }

    private static string Per(IReadOnlyCollection<string> commands) => (commands.Count / (double)Refreshes).ToString("F1", CultureInfo.InvariantCulture);

    private async Task<(List<string> Shared, List<string> Own)> MeasureAsync(RedisServer primary, Action<PitchlyRedisOptions> configure)
    {
        await using var emulator = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancel);
        var (key, record) = await EmulatedInstance.SignInAtEmulatorAsync(emulator, emulator.Emulator.Users.First().PersonId);
        var instance = Own(EmulatedInstance.Create(primary, emulator, Prefix, KeyRing, key, configure));
        await instance.Store.SetAsync(key, record, Cancel);
        var current = (await instance.Manager.RefreshAsync(key, record.AccessToken, Cancel)).Value; // connected, scripts loaded
        var lockKey = new RedisKeyNames(Prefix).Lock(RedisKeyNames.Hash(key));
        await Eventually.HoldsAsync(async () => !await primary.Admin.GetDatabase().KeyExistsAsync(lockKey), TimeSpan.FromSeconds(10), "the lock is released");
        var ownClient = ClientAddress(primary, "-replica-wait");

        using var monitor = Process.Start(new ProcessStartInfo("redis-cli", ["-p", primary.Port.ToString(CultureInfo.InvariantCulture), "monitor"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var lines = new List<string>();
        var reading = Task.Run(async () =>
        {
            while (await monitor.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        }, Cancel);
        await Task.Delay(300, Cancel);
        lock (lines)
        {
            lines.Clear();
        }

        for (var i = 0; i < Refreshes; i++)
        {
            current = (await instance.Manager.RefreshAsync(key, current, Cancel)).Value;
            await Eventually.HoldsAsync(async () => !await primary.Admin.GetDatabase().KeyExistsAsync(lockKey), TimeSpan.FromSeconds(10), "the lock is released");
        }

        await Task.Delay(300, Cancel);
        monitor.Kill();
        await reading.WaitAsync(TimeSpan.FromSeconds(5), Cancel).ContinueWith(static _ => { }, TaskScheduler.Default);
        ownClient ??= ClientAddress(primary, "-replica-wait");
        var adminClients = AdminAddresses(primary);
        var shared = new List<string>();
        var own = new List<string>();
        lock (lines)
        {
            foreach (var line in lines)
            {
                // 1733500000.123456 [0 127.0.0.1:50123] "EVALSHA" "..." ...; script commands show as [0 lua].
                var open = line.IndexOf('[', StringComparison.Ordinal);
                var close = line.IndexOf(']', StringComparison.Ordinal);
                if (open < 0 || close < open)
                {
                    continue;
                }

                var client = line[(open + 1)..close].Split(' ')[^1];
                var command = line[(close + 1)..].Trim().Split(' ')[0].Trim('"').ToUpperInvariant();
                if (client == "lua" || adminClients.Contains(client) || command is "REPLCONF" or "PING")
                {
                    continue;
                }

                (client == ownClient ? own : shared).Add(command);
            }
        }

        return (shared, own);
    }

    private static string? ClientAddress(RedisServer server, string nameSuffix)
    {
        var clients = (string)server.AdminServer.Execute("CLIENT", "LIST")!;
        return clients.Split('\n')
            .Where(line => line.Contains("name=", StringComparison.Ordinal) && line.Split(' ').Any(field => field.StartsWith("name=", StringComparison.Ordinal) && field.EndsWith(nameSuffix, StringComparison.Ordinal)))
            .Select(line => line.Split(' ').First(field => field.StartsWith("addr=", StringComparison.Ordinal))[5..])
            .FirstOrDefault();
    }

    private static HashSet<string> AdminAddresses(RedisServer server)
    {
        // The test fixture's own connections (not the instance's, whose client names start with "pitchly-").
        var clients = (string)server.AdminServer.Execute("CLIENT", "LIST")!;
        return [.. clients.Split('\n')
            .Where(line => line.Contains("addr=", StringComparison.Ordinal) && !line.Contains("name=pitchly-", StringComparison.Ordinal))
            .Select(line => line.Split(' ').First(field => field.StartsWith("addr=", StringComparison.Ordinal))[5..])];
    }

    private static void Report(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        if (Environment.GetEnvironmentVariable("PITCHLY_ROUND_TRIP_REPORT") is { Length: > 0 } path)
        {
            File.AppendAllText(path, line + Environment.NewLine);
        }
    }
}
