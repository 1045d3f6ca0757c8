using System.Reflection;
using System.Runtime.ExceptionServices;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// A real connection multiplexer whose connection-failed and connection-restored events the test raises itself, so
/// that one connection type can fail or recover without the other. It also counts attached handlers and can hold or
/// fail subscriptions.
/// </summary>
public class ObservableMultiplexer : DispatchProxy
{
    private IConnectionMultiplexer _inner = null!;
    private EventHandler<ConnectionFailedEventArgs>? _failed;
    private EventHandler<ConnectionFailedEventArgs>? _restored;

    /// <summary>Gets or sets what runs before every subscription is sent (to hold it back or make it fail).</summary>
    public Func<Task>? BeforeSubscribe { get; set; }

    public int HandlerCount => (_failed?.GetInvocationList().Length ?? 0) + (_restored?.GetInvocationList().Length ?? 0);

    public static (IConnectionMultiplexer Multiplexer, ObservableMultiplexer Control) Wrap(IConnectionMultiplexer inner)
    {
        var proxy = Create<IConnectionMultiplexer, ObservableMultiplexer>();
        var control = (ObservableMultiplexer)(object)proxy;
        control._inner = inner;
        return (proxy, control);
    }

    public void Fail(ConnectionType type) => _failed?.Invoke(_inner, Args(type, ConnectionFailureType.SocketClosed));

    public void Restore(ConnectionType type) => _restored?.Invoke(_inner, Args(type, ConnectionFailureType.None));

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        switch (targetMethod.Name)
        {
            case "add_ConnectionFailed":
                _failed += (EventHandler<ConnectionFailedEventArgs>)args![0]!;
                return null;
            case "remove_ConnectionFailed":
                _failed -= (EventHandler<ConnectionFailedEventArgs>)args![0]!;
                return null;
            case "add_ConnectionRestored":
                _restored += (EventHandler<ConnectionFailedEventArgs>)args![0]!;
                return null;
            case "remove_ConnectionRestored":
                _restored -= (EventHandler<ConnectionFailedEventArgs>)args![0]!;
                return null;
            case nameof(IConnectionMultiplexer.GetSubscriber) when BeforeSubscribe is { } beforeSubscribe:
                return HookedSubscriber.Wrap(_inner.GetSubscriber(), beforeSubscribe);
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException exception) when (exception.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(exception.InnerException);
            throw;
        }
    }

    private ConnectionFailedEventArgs Args(ConnectionType type, ConnectionFailureType failure) =>
        new(_inner, _inner.GetEndPoints()[0], type, failure, new IOException("simulated"), "simulated");
}
