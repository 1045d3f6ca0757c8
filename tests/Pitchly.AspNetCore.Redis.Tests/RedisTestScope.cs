namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// What one test of a Redis test class owns: a key prefix no other test uses, a Data Protection key ring directory and
/// the application instances it made, all released after the test.
/// </summary>
/// <param name="prefixLetter">The first letter of the key prefix, to tell the classes' keys apart in Redis.</param>
public abstract class RedisTestScope(char prefixLetter) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];

    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>Gets the key prefix of this test's instances.</summary>
    protected string Prefix { get; } = $"{prefixLetter}{Guid.NewGuid():N}"[..12];

    /// <summary>Gets the directory of the Data Protection key ring this test's instances share.</summary>
    protected string KeyRing { get; } = Directory.CreateTempSubdirectory("pitchly-keys-").FullName;

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        Directory.Delete(KeyRing, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes <paramref name="owned"/> after the test.</summary>
    protected T Own<T>(T owned)
        where T : IAsyncDisposable
    {
        _owned.Add(owned);
        return owned;
    }
}
