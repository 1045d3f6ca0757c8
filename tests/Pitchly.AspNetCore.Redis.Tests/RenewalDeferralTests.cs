namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// A proactive renewal steps aside while another instance holds the key's refresh lock: the still-valid token serves,
/// and no call queues behind the other instance's refresh. A token that is no longer valid still waits for the lock.
/// </summary>
public sealed class RenewalDeferralTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly string _prefix = $"t{Guid.NewGuid():N}"[..12];
    private readonly string _keyRing = Directory.CreateTempSubdirectory("pitchly-keys-").FullName;
    private readonly List<IAsyncDisposable> _owned = [];
    private PitchlyEmulatorServer _emulator = null!;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() =>
        _emulator = await PitchlyEmulatorServer.StartAsync(o => o.AccessTokenLifetime = TimeSpan.FromSeconds(8), Cancel);

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        await _emulator.DisposeAsync();
        Directory.Delete(_keyRing, recursive: true);
    }

    [Fact]
    public async Task A_renewal_serves_the_current_token_while_another_instance_holds_the_lock_and_renews_once_it_is_released()
    {
        var (key, record) = await EmulatedInstance.SignInAtEmulatorAsync(_emulator, _emulator.Emulator.Users.First().PersonId);
        var holder = Instance(key);
        var caller = Instance(key);
        await holder.Store.SetAsync(key, record, Cancel);
        var grants = _emulator.Emulator.GetStats().RefreshGrants;

        // Late in the renewal window (the last 4 s of the 8 s lifetime; under 2 s left, so a call would wait for the
        // renewal) and still valid.
        await Task.Delay(record.IssuedAt!.Value.AddSeconds(6.3) - DateTimeOffset.UtcNow, Cancel);
        var held = await holder.Services.GetRequiredService<IPitchlyRefreshLock>().AcquireAsync(key, Cancel);
        PitchlyAccessToken served;
        try
        {
            // Had the renewal queued on the lock, it would still be waiting here (LockWaitTimeout is 20 s).
            served = await caller.Manager.GetAccessTokenAsync(key, Cancel).AsTask().WaitAsync(TimeSpan.FromSeconds(1), Cancel);
            Assert.Equal(grants, _emulator.Emulator.GetStats().RefreshGrants);
        }
        finally
        {
            await held.DisposeAsync();
        }

        Assert.Equal(record.AccessToken, served.Value);

        // Released: the next call's renewal takes the lock, and the call waits for it.
        var renewed = await caller.Manager.GetAccessTokenAsync(key, Cancel);
        Assert.NotEqual(record.AccessToken, renewed.Value);
        Assert.Equal(grants + 1, _emulator.Emulator.GetStats().RefreshGrants);
    }

    [Fact]
    public async Task An_expired_token_waits_for_the_lock_instead_of_being_served()
    {
        var (key, record) = await EmulatedInstance.SignInAtEmulatorAsync(_emulator, _emulator.Emulator.Users.Skip(1).First().PersonId);
        var holder = Instance(key);
        var caller = Instance(key);
        await holder.Store.SetAsync(key, record with { ExpiresAt = DateTimeOffset.UtcNow.AddSeconds(-1) }, Cancel);

        var held = await holder.Services.GetRequiredService<IPitchlyRefreshLock>().AcquireAsync(key, Cancel);
        var call = caller.Manager.GetAccessTokenAsync(key, Cancel).AsTask();
        await Task.Delay(500, Cancel);
        Assert.False(call.IsCompleted, "The call for an expired token did not wait for the lock.");
        await held.DisposeAsync();

        var token = await call.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        Assert.NotEqual(record.AccessToken, token.Value);
        Assert.Equal(0, _emulator.Emulator.GetStats().RefreshTokenReuse);
    }

    private EmulatedInstance Instance(PitchlyTokenKey key)
    {
        var instance = EmulatedInstance.Create(redis, _emulator, _prefix, _keyRing, key, o => o.LockWaitTimeout = TimeSpan.FromSeconds(20));
        _owned.Add(instance);
        return instance;
    }
}
