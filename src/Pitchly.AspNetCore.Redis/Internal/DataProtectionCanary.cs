using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// The Data Protection key check of a Redis store (<see cref="RedisKeyNames.DataProtectionCanary"/>): a known value the
/// first instance protected with its keys and application name, which every other instance must be able to unprotect.
/// An instance that cannot was given another application name or key ring, and would find every record undecryptable.
/// </summary>
/// <remarks>
/// The check is made once, at start-up (<see cref="DataProtectionCanaryCheck"/>), or on the first record that cannot be
/// decrypted if Redis could not be reached then. The store removes an undecryptable user record only once the check has
/// passed: until then the failure may be this instance's configuration, not the record. Each time the connection is
/// restored the check is made again, so that a Redis restarted empty gets the check back from the instances already
/// running before a misconfigured one could write its own.
/// </remarks>
internal sealed class DataProtectionCanary
{
    private const string Purpose = "Pitchly.AspNetCore.TokenStore.KeyCheck";

    private static readonly byte[] Expected = Encoding.UTF8.GetBytes("pitchly-token-store-key-check-v1");

    private readonly RedisConnection _connection;
    private readonly ILogger _logger;
    private readonly IDataProtector _protector;
    private readonly SemaphoreSlim _checking = new(1, 1);
    private volatile Verdict _verdict;

    public DataProtectionCanary(RedisConnection connection, IDataProtectionProvider dataProtectionProvider, ILogger<DataProtectionCanary> logger)
    {
        _connection = connection;
        _logger = logger;
        _protector = dataProtectionProvider.CreateProtector(Purpose);
        connection.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>What the check found.</summary>
    public enum Verdict
    {
        /// <summary>Not checked yet (Redis could not be reached).</summary>
        Unchecked,

        /// <summary>This instance shares the key ring and application name of the instance that wrote the check.</summary>
        Shared,

        /// <summary>This instance cannot unprotect the check: another key ring or application name.</summary>
        Foreign,
    }

    /// <summary>Gets what the check found so far.</summary>
    public Verdict Current => _verdict;

    /// <summary>
    /// Checks, once, that this instance can unprotect the value in Redis (writing it if no instance has yet). Under
    /// <see cref="PitchlyRedisOptions.AllowUnsharedDataProtectionKeys"/> a check it cannot read is replaced by its own.
    /// </summary>
    /// <exception cref="RedisException">Redis could not be reached; the check is made again on the next call.</exception>
    public ValueTask<Verdict> CheckAsync(CancellationToken cancellationToken) =>
        _verdict != Verdict.Unchecked ? ValueTask.FromResult(_verdict) : CheckAgainAsync(again: false, cancellationToken);

    private async ValueTask<Verdict> CheckAgainAsync(bool again, CancellationToken cancellationToken)
    {
        await _checking.WaitAsync(cancellationToken);
        try
        {
            if (again || _verdict == Verdict.Unchecked)
            {
                var verdict = await ReadOrWriteAsync(cancellationToken);
                if (verdict != Verdict.Unchecked || _verdict == Verdict.Unchecked)
                {
                    _verdict = verdict;
                }
            }

            return _verdict;
        }
        finally
        {
            _checking.Release();
        }
    }

    private void OnConnectionRestored()
    {
        if (_verdict == Verdict.Foreign)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await CheckAgainAsync(again: true, CancellationToken.None);
            }
            catch (Exception exception) when (RedisFailures.IsRedisFailure(exception) || exception is ObjectDisposedException)
            {
                // Still unreachable (or shutting down): the next restoration, or the next undecryptable record, tries again.
            }
        });
    }

    private async Task<Verdict> ReadOrWriteAsync(CancellationToken cancellationToken)
    {
        var database = await _connection.GetDatabaseAsync(cancellationToken);
        var key = _connection.Names.DataProtectionCanary;
        var stored = await database.StringGetAsync(key);
        if (stored.IsNull)
        {
            if (await database.StringSetAsync(key, _protector.Protect(Expected), when: When.NotExists))
            {
                RedisLog.DataProtectionCanaryWritten(_logger, key.ToString());
                return Verdict.Shared;
            }

            // Another instance wrote it first: this one must read it.
            stored = await database.StringGetAsync(key);
            if (stored.IsNull)
            {
                // Removed again meanwhile (Redis flushed): not checked; the next call tries again.
                return Verdict.Unchecked;
            }
        }

        Exception? failure = null;
        try
        {
            if (_protector.Unprotect((byte[])stored!).AsSpan().SequenceEqual(Expected))
            {
                return Verdict.Shared;
            }
        }
        catch (CryptographicException exception)
        {
            failure = exception;
        }

        if (_connection.Options.AllowUnsharedDataProtectionKeys)
        {
            await database.StringSetAsync(key, _protector.Protect(Expected));
            RedisLog.DataProtectionCanaryReplaced(_logger, key.ToString());
            return Verdict.Shared;
        }

        RedisLog.DataProtectionCanaryUnreadable(_logger, key.ToString(), failure);
        return Verdict.Foreign;
    }
}
