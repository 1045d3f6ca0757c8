using System.Collections;
using System.Reflection;

namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>
/// Whether any controlled operation other than the caller can run now, read from Coyote's runtime (1.7.11 keeps this
/// internal, hence reflection; a newer Coyote that renames it fails every schedule loudly rather than silently).
/// The model's clock moves only when nothing else can: steps of a refresh take no time, and time passes where the model
/// says so (waits on timers, freezes, slow answers).
/// </summary>
internal static class Quiescence
{
    private const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;
    private static readonly Type Runtime = typeof(Microsoft.Coyote.Configuration).Assembly.GetType("Microsoft.Coyote.Runtime.CoyoteRuntime", throwOnError: true)!;
    private static readonly PropertyInfo Current = Runtime.GetProperty("Current", Any)!;
    private static readonly FieldInfo OperationMap = Runtime.GetField("OperationMap", Any)!;
    private static readonly FieldInfo PendingStart = Runtime.GetField("PendingStartOperationMap", Any)!;
    private static readonly MethodInfo GetExecutingOperation = Runtime.GetMethod("GetExecutingOperationUnsafe", Any)!;
    private static readonly Type Operation = typeof(Microsoft.Coyote.Configuration).Assembly.GetType("Microsoft.Coyote.Runtime.ControlledOperation", throwOnError: true)!;
    private static readonly FieldInfo Status = Operation.GetField("Status", Any)!;

    public static bool OthersCanRun()
    {
        var runtime = Current.GetValue(null)!;
        var executing = GetExecutingOperation.Invoke(runtime, null);
        if (PendingStart.GetValue(runtime) is ICollection { Count: > 0 })
        {
            return true; // an operation was created and has not started yet
        }

        if (ThreadPool.PendingWorkItemCount > 0)
        {
            // A continuation queued to the thread pool (the manager's WaitAsync for a caller that may cancel completes
            // there) has yet to hand its work back to Coyote: the clock gives it the spins it has (Farm.MaxSpins).
            return true;
        }

        var map = (IDictionary)OperationMap.GetValue(runtime)!;
        try
        {
            foreach (var operation in map.Values)
            {
                if (!ReferenceEquals(operation, executing) && Status.GetValue(operation)!.ToString() == "Enabled")
                {
                    return true;
                }
            }

            return false;
        }
        catch (InvalidOperationException)
        {
            return true; // the map changed while read: something else runs
        }
    }
}
