using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>
/// Runs a program's real entry point (its Program.cs, arguments and all) in this process and captures the host it
/// builds, through the hosting library's "HostBuilt" diagnostic event, so a test can inspect and stop it.
/// </summary>
public sealed class EntryPointHost : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IAsyncDisposable
{
    private readonly TaskCompletionSource<IHost> _built = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<IServiceProvider, bool> _isOurs;
    private readonly List<IDisposable> _subscriptions = [];
    private Task? _run;

    private EntryPointHost(Func<IServiceProvider, bool> isOurs) => _isOurs = isOurs;

    public IHost Host => _built.Task.Result;

    /// <summary>Starts <paramref name="entryAssembly"/>'s entry point and waits until it has built its host.</summary>
    /// <param name="entryAssembly">The program's assembly.</param>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="isOurs">Recognises the program's host among others built meanwhile in this process.</param>
    /// <param name="timeout">How long to wait for the host.</param>
    public static async Task<EntryPointHost> StartAsync(Assembly entryAssembly, string[] args, Func<IServiceProvider, bool> isOurs, TimeSpan timeout)
    {
        var entryPoint = entryAssembly.EntryPoint ?? throw new InvalidOperationException($"{entryAssembly.GetName().Name} has no entry point.");
        var host = new EntryPointHost(isOurs);
        host._subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(host));
        host._run = Task.Factory.StartNew(
            () => entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? [] : [args]),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        var first = await Task.WhenAny(host._built.Task, host._run, Task.Delay(timeout));
        if (first != host._built.Task)
        {
            await host.DisposeAsync();
            throw new InvalidOperationException(first == host._run
                ? $"{entryAssembly.GetName().Name} ended before building its host: {host._run.Exception?.GetBaseException().Message}"
                : $"{entryAssembly.GetName().Name} did not build its host within {timeout}.");
        }

        return host;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        if (_built.Task.IsCompletedSuccessfully)
        {
            _built.Task.Result.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        }

        if (_run is not null)
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(30));
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
        if (value.Key == "HostBuilt" && value.Value is IHost host && _isOurs(host.Services))
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
