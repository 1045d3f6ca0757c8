using System.Reflection;
using System.Runtime.ExceptionServices;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>A real subscriber that runs a hook before each handler subscription is sent.</summary>
public class HookedSubscriber : DispatchProxy
{
    private ISubscriber _inner = null!;
    private Func<Task> _beforeSubscribe = null!;

    public static ISubscriber Wrap(ISubscriber inner, Func<Task> beforeSubscribe)
    {
        var proxy = Create<ISubscriber, HookedSubscriber>();
        var hooked = (HookedSubscriber)(object)proxy;
        hooked._inner = inner;
        hooked._beforeSubscribe = beforeSubscribe;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == nameof(ISubscriber.SubscribeAsync) && targetMethod.ReturnType == typeof(Task))
        {
            return SubscribeAfterHookAsync(targetMethod, args);
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

    private async Task SubscribeAfterHookAsync(MethodInfo method, object?[]? args)
    {
        await _beforeSubscribe();
        await (Task)method.Invoke(_inner, args)!;
    }
}
