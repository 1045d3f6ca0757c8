using Pitchly.AspNetCore.Storm;
using Pitchly.AspNetCore.Storm.Emulator;
using Pitchly.AspNetCore.Storm.Instance;
using Pitchly.AspNetCore.Storm.Soak;

// One executable, three roles: the load driver (default), an app instance (--instance) and the stand-alone
// emulator (--emulator). The driver starts the other two as child processes of itself.
CommandLine commandLine;
try
{
    commandLine = CommandLine.Parse(args);
}
catch (UsageException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    return 2;
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

try
{
    if (commandLine.Flag("instance"))
    {
        return await InstanceApp.RunAsync(commandLine);
    }

    if (commandLine.Flag("emulator"))
    {
        return await EmulatorApp.RunAsync(commandLine);
    }

    if (commandLine.Flag("soak"))
    {
        return await SoakApp.RunAsync(commandLine, cancellation.Token);
    }

    return await Driver.RunAsync(commandLine, cancellation.Token);
}
catch (UsageException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    await Console.Error.WriteLineAsync(
        "Usage: Pitchly.AspNetCore.Storm [--instances 3] [--users 20] [--concurrency 200] [--seconds 60] "
        + "[--token-lifetime-seconds 5] [--redis host:port | --redis-cluster 3 | --redis-sentinel [--failover-every-seconds 10]] [--request-timeout-seconds 60]");
    await Console.Error.WriteLineAsync(
        "       open loop: --rate N (calls per second in total, instead of --concurrency) [--token-latency-ms 0] [--warmup-seconds 0]");
    await Console.Error.WriteLineAsync(
        "       soak: --soak [--store memory|redis] [--users 100000] [--calls-per-user 3] [--rate N] [--ttl-seconds 20] [--report-seconds 5] [--tolerance 0.1] [--max-in-flight 1024]");
    return 2;
}
catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("Cancelled; every child process was stopped.");
    return 130;
}
