namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// The Lua scripts, kept as embedded <c>Lua/*.lua</c> files so they can be reviewed and tried with <c>redis-cli</c> on
/// their own. StackExchange.Redis sends each by SHA-1 (EVALSHA) once the server knows it.
/// </summary>
internal static class RedisScripts
{
    public static readonly string Set = Load("set.lua");
    public static readonly string CompareAndSwap = Load("compare-and-swap.lua");
    public static readonly string Remove = Load("remove.lua");
    public static readonly string BeginRefresh = Load("begin-refresh.lua");
    public static readonly string AcquireLock = Load("lock-acquire.lua");
    public static readonly string RenewLock = Load("lock-renew.lua");
    public static readonly string ReleaseLock = Load("lock-release.lua");
    public static readonly string ReplicaConfirm = Load("replica-confirm.lua");
    public static readonly string ReplicationInfo = Load("replication-info.lua");

    private static string Load(string fileName)
    {
        var name = $"Pitchly.AspNetCore.Redis.Lua.{fileName}";
        using var stream = typeof(RedisScripts).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded script '{name}' is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
