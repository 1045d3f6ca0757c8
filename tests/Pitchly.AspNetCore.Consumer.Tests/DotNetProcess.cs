using System.Diagnostics;
using System.Text;

namespace Pitchly.AspNetCore.Consumer.Tests;

/// <summary>
/// A process of the .NET CLI or of an app, started with a clean environment (nothing of this test run's MSBuild or
/// test platform settings leaks into it), its output collected; disposing it kills it with its children.
/// </summary>
public sealed class DotNetProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Line)> _watches = [];

    private DotNetProcess(Process process) => _process = process;

    /// <summary>Gets the dotnet executable that runs this test (the SDK under test), or the one on PATH.</summary>
    public static string Executable =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    public static DotNetProcess Start(string fileName, string workingDirectory, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // The test host runs under `dotnet test`: its MSBuild, test platform and app settings are not the child's.
        foreach (var key in startInfo.Environment.Keys.ToList())
        {
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("Pitchly__", StringComparison.OrdinalIgnoreCase))
            {
                startInfo.Environment.Remove(key);
            }
        }

        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        startInfo.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        startInfo.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var child = new DotNetProcess(process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs the .NET CLI to completion; a failure or a timeout throws with the command's output.</summary>
    public static async Task<string> RunAsync(string workingDirectory, TimeSpan timeout, params string[] arguments)
    {
        await using var process = Start(Executable, workingDirectory, arguments);
        var exitCode = await process.WaitForExitAsync(timeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(
                $"`dotnet {string.Join(' ', arguments)}` {(exitCode is null ? $"did not finish within {timeout}" : $"exited with {exitCode}")}:\n{process.Output}");
        }

        return process.Output;
    }

    /// <summary>Waits until the process writes a line that matches, and returns it.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var line = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            var existing = _output.ToString().Split('\n').FirstOrDefault(l => match(l.TrimEnd('\r')));
            if (existing is not null)
            {
                return existing.TrimEnd('\r');
            }

            _watches.Add((match, line));
        }

        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(line.Task, exited, Task.Delay(timeout));
        if (first == line.Task)
        {
            return await line.Task;
        }

        // Output may still be draining when the exit is seen.
        _process.WaitForExit();
        if (line.Task.IsCompleted)
        {
            return await line.Task;
        }

        throw new InvalidOperationException(
            $"{_process.StartInfo.FileName} {(_process.HasExited ? $"exited with {_process.ExitCode}" : $"wrote no expected line within {timeout}")}:\n{Output}");
    }

    /// <summary>Waits for the process to end; <see langword="null"/> when it is still running after the timeout.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }

        // The parameterless wait also drains the redirected output.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }

        _process.Dispose();
    }

    private void Append(string? data)
    {
        if (data is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Append(data).Append('\n');
            for (var i = _watches.Count - 1; i >= 0; i--)
            {
                if (_watches[i].Match(data))
                {
                    _watches[i].Line.TrySetResult(data);
                    _watches.RemoveAt(i);
                }
            }
        }
    }
}
