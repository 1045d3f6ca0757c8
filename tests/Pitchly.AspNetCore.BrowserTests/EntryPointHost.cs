using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>
/// Runs a program's real entry point (its Program.cs, with command-line arguments) in this process and captures the
/// host it builds through the hosting library's "HostBuilt" diagnostic event, so a test can use and stop it.
/// </summary>
/// <remarks>
/// WebApplicationFactory cannot be used for the samples: it takes the first host the entry point builds, and the
/// samples build the embedded emulator's host first. Here every host built meanwhile is observed, and the program's
/// own is recognised by a marker argument, so programs started in parallel never get each other's host.
/// </remarks>
public sealed class EntryPointHost : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IAsyncDisposable
{
    private const string MarkerKey = "EntryPointHost:Instance";

    private readonly TaskCompletionSource<IHost> _built = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _marker = Guid.NewGuid().ToString("N");
    private readonly List<IDisposable> _subscriptions = [];
    private Task? _run;

    private EntryPointHost()
    {
    }

    public IServiceProvider Services => _built.Task.Result.Services;

    /// <summary>Starts <paramref name="entryAssembly"/>'s entry point and waits until its host has started.</summary>
    /// <param name="entryAssembly">The program's assembly.</param>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="timeout">How long the program may take to start.</param>
    public static async Task<EntryPointHost> StartAsync(Assembly entryAssembly, IEnumerable<string> args, TimeSpan timeout)
    {
        var entryPoint = entryAssembly.EntryPoint ?? throw new InvalidOperationException($"{entryAssembly.GetName().Name} has no entry point.");
        var host = new EntryPointHost();
        string[] arguments = [.. args, $"--{MarkerKey}={host._marker}"];
        var subscription = DiagnosticListener.AllListeners.Subscribe(host);
        lock (host._subscriptions)
        {
            host._subscriptions.Add(subscription);
        }

        host._run = Task.Factory.StartNew(
            () => entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? [] : [arguments]),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        try
        {
            await Task.WhenAny(host._built.Task, host._run).WaitAsync(timeout);
            if (!host._built.Task.IsCompleted)
            {
                throw new InvalidOperationException($"{entryAssembly.GetName().Name} ended before building its host.", host._run.Exception?.GetBaseException());
            }

            var built = await host._built.Task;
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var registration = built.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(started.SetResult);
            await Task.WhenAny(started.Task, host._run).WaitAsync(timeout);
            if (host._run.IsCompleted)
            {
                throw new InvalidOperationException($"{entryAssembly.GetName().Name} ended during start-up.", host._run.Exception?.GetBaseException());
            }

            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_subscriptions)
        {
            _subscriptions.ForEach(subscription => subscription.Dispose());
            _subscriptions.Clear();
        }

        if (_built.Task.IsCompletedSuccessfully)
        {
            _built.Task.Result.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        }

        if (_run is not null)
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    void IObserver<DiagnosticListener>.OnNext(DiagnosticListener value)
    {
        if (value.Name == "Microsoft.Extensions.Hosting")
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(value.Subscribe(this));
            }
        }
    }

    void IObserver<KeyValuePair<string, object?>>.OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Key == "HostBuilt" && value.Value is IHost host
            && host.Services.GetService<IConfiguration>()?[MarkerKey] == _marker)
        {
            _built.TrySetResult(host);
        }
    }

    void IObserver<DiagnosticListener>.OnCompleted()
    {
    }

    void IObserver<DiagnosticListener>.OnError(Exception error)
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnCompleted()
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnError(Exception error)
    {
    }
}
