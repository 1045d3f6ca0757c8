namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>Runs <c>redis-cli</c> for the throwaway Redis deployments' set-up and checks.</summary>
public static class RedisCli
{
    /// <summary>Runs <c>redis-cli</c> to its end and returns its trimmed output; throws when it fails.</summary>
    public static async Task<string> RunAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var start = new ProcessStartInfo("redis-cli")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start.");
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
