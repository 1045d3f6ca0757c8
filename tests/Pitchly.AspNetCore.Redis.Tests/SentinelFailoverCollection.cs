namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// Runs the failover tests on their own: six Redis processes and forced failovers load the machine enough to make the
/// lease-timing tests of other classes miss their renewals.
/// </summary>
[CollectionDefinition(nameof(SentinelFailoverCollection), DisableParallelization = true)]
public sealed class SentinelFailoverCollection;
