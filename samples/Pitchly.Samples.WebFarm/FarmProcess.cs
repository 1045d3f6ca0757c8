using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;

namespace Pitchly.Samples.WebFarm;

/// <summary>
/// A process the farm started (redis-server, an MVC instance). Its last output lines are kept for error messages, and
/// it is killed with the farm: on dispose, and when the farm's process exits (Ctrl+C, SIGTERM, an unhandled error).
/// </summary>
internal sealed class FarmProcess : IAsyncDisposable
{
    private const int KeptLines = 60;

    private static readonly ConcurrentDictionary<FarmProcess, byte> Live = new();

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    static FarmProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var child in Live.Keys)
        {
            child.Kill();
        }
    };

    private FarmProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    public string Output => string.Join(Environment.NewLine, _output);

    public static FarmProcess Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        var process = new Process { StartInfo = startInfo };
        var child = new FarmProcess(name, process);
        process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        try
        {
            process.Start();
        }
        catch (Win32Exception exception)
        {
            process.Dispose();
            throw new InvalidOperationException($"{name}: '{fileName}' could not be started ({exception.Message}).", exception);
        }

        Live.TryAdd(child, 0);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Killed; the operating system reaps it.
        }

        Live.TryRemove(this, out _);
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > KeptLines && _output.TryDequeue(out _))
        {
        }
    }
}
