using System.Collections.Concurrent;

namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>
/// A process this harness started: its output is collected, and disposing it kills it with its whole tree, so no
/// child outlives the run (also on failure and on Ctrl+C, when the owner disposes it from a <c>finally</c>).
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    // Killed when this process exits (SIGTERM, Ctrl+C, an unhandled exception), whatever else was cleaned up.
    private static readonly ConcurrentDictionary<ChildProcess, byte> Live = new();
    private readonly Process _process;
    private readonly List<(string Prefix, TaskCompletionSource<string> Line)> _watches = [];
    private readonly Lock _gate = new();

    static ChildProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var child in Live.Keys)
        {
            child.Kill();
        }
    };

    private ChildProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    /// <summary>Gets the name used in diagnostics.</summary>
    public string Name { get; }

    /// <summary>Gets the operating system's process id.</summary>
    public int Id => _process.Id;

    /// <summary>Gets whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Gets what the process wrote to its standard output and error (the last lines).</summary>
    public OutputLog Output { get; } = new();

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/>, collecting its output.</summary>
    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = StartInfo(fileName, arguments);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) child.OnLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) child.Output.Append("err: " + e.Data); };
        process.Exited += (_, _) => child.OnExited();
        process.Start();
        Live.TryAdd(child, 0);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>How this harness starts a program: its standard streams redirected, <paramref name="arguments"/> passed as they are.</summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }

    /// <summary>
    /// Starts another copy of this harness (<c>dotnet Pitchly.AspNetCore.Storm.dll</c>) in one of its modes.
    /// </summary>
    /// <param name="name">The name used in diagnostics.</param>
    /// <param name="arguments">The mode and its arguments.</param>
    /// <param name="environment">Extra environment variables.</param>
    /// <param name="stormAssemblyPath">The harness's assembly; defaults to this one.</param>
    public static ChildProcess StartStorm(string name, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? stormAssemblyPath = null)
    {
        var assembly = stormAssemblyPath ?? typeof(ChildProcess).Assembly.Location;
        var all = new List<string>();
        if (!File.Exists(Path.ChangeExtension(assembly, ".runtimeconfig.json"))
            && System.Reflection.Assembly.GetEntryAssembly()?.Location is { Length: > 0 } entry)
        {
            // Loaded as a library (a test project references the harness): run it on the entry assembly's runtime
            // configuration and dependencies, which include the harness's.
            all.AddRange(["exec", "--runtimeconfig", Path.ChangeExtension(entry, ".runtimeconfig.json"), "--depsfile", Path.ChangeExtension(entry, ".deps.json")]);
        }

        all.Add(assembly);
        all.AddRange(arguments);
        all.Add("--parent-pid");
        all.Add(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Start(name, DotnetHost, all, environment);
    }

    /// <summary>Gets the <c>dotnet</c> host that runs this process, so children run on the same runtime.</summary>
    public static string DotnetHost
    {
        get
        {
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host))
            {
                return host;
            }

            var current = Environment.ProcessPath;
            return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
        }
    }

    /// <summary>
    /// Waits for the first line of standard output that starts with <paramref name="prefix"/> and returns the rest of
    /// it; fails with the process's output when it exits first or <paramref name="timeout"/> passes.
    /// </summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var line = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (Output.FindFirst(prefix) is { } seen)
            {
                return seen[prefix.Length..].Trim();
            }

            _watches.Add((prefix, line));
        }

        if (_process.HasExited)
        {
            OnExited();
        }

        try
        {
            return await line.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{this} wrote no line starting with '{prefix}' within {timeout.TotalSeconds:0} s. Its output:\n{Output}");
        }
    }

    /// <summary>Waits for the process to exit, up to <paramref name="timeout"/>; returns whether it did.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Gets the exit code, once exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Kills the process and its children at once (SIGKILL on Unix): no shutdown hook runs.</summary>
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

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Kill();
        await WaitForExitAsync(TimeSpan.FromSeconds(5));
        Live.TryRemove(this, out _);
        _process.Dispose();
    }

    private void OnLine(string line)
    {
        lock (_gate)
        {
            Output.Append(line);
            for (var i = _watches.Count - 1; i >= 0; i--)
            {
                if (line.StartsWith(_watches[i].Prefix, StringComparison.Ordinal))
                {
                    _watches[i].Line.TrySetResult(line[_watches[i].Prefix.Length..].Trim());
                    _watches.RemoveAt(i);
                }
            }
        }
    }

    private void OnExited()
    {
        lock (_gate)
        {
            foreach (var (prefix, line) in _watches)
            {
                line.TrySetException(new InvalidOperationException($"{Name} exited before writing a line starting with '{prefix}'. Its output:\n{Output}"));
            }

            _watches.Clear();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} (pid {Id})";
}
