namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>Runs <c>redis-cli</c> for the throwaway Redis deployments' set-up and checks.</summary>
public static class RedisCli
{
    /// <summary>Runs <c>redis-cli</c> to its end and returns its trimmed output; throws when it fails.</summary>
    public static async Task<string> RunAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        using var process = Process.Start(ChildProcess.StartInfo("redis-cli", arguments)) ?? throw new InvalidOperationException("redis-cli did not start.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
        }

        return (await output).Trim();
    }
}
