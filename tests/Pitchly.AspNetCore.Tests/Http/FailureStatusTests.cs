using System.Net.Http;
using System.Net.Sockets;
using Pitchly.AspNetCore.Redis;

namespace Pitchly.AspNetCore.Tests.Http;

/// <summary>What each documented exception answers: retryable failures 503 with a Retry-After, the rest a fitting status, never 500.</summary>
public sealed class FailureStatusTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly PitchlyTokenKey Ada = PitchlyTokenKey.ForUser("orgAcme", "psnAda");

    public static TheoryData<string, PitchlyException, int, string, bool> Failures() => new()
    {
        { "store unavailable", new PitchlyTokenStoreUnavailableException("Redis down", new IOException()), 503, "store-unavailable", true },
        { "record undecryptable", new PitchlyRedisRecordUndecryptableException(), 503, "store-unavailable", true },
        { "refresh timeout", new PitchlyRefreshTimeoutException(Ada, TimeSpan.FromSeconds(30), "timed out", new OperationCanceledException()), 503, "refresh-timeout", true },
        { "lock wait timeout", new PitchlyRefreshLockTimeoutException(Ada, TimeSpan.FromSeconds(15), "lock"), 503, "refresh-lock-timeout", true },
        { "token endpoint unreachable", new PitchlyTokenEndpointException("unreachable", null, null, new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused))), 503, "token-endpoint-unavailable", true },
        { "token endpoint server_error", new PitchlyTokenEndpointException("500", "server_error", 500), 503, "token-endpoint-unavailable", true },
        { "token endpoint HTML from a proxy", new PitchlyTokenEndpointException("html", null, 502), 503, "token-endpoint-unavailable", true },
        { "token endpoint rate limit", new PitchlyTokenEndpointException("slow down", null, 429), 503, "token-endpoint-unavailable", true },
        { "token endpoint invalid_client", new PitchlyTokenEndpointException("invalid_client", "invalid_client", 401), 502, "token-endpoint-failed", false },
        { "token endpoint not a token response", new PitchlyTokenEndpointException("no access_token", null, 200), 502, "token-endpoint-failed", false },
        { "no client credentials", new PitchlyTokenEndpointException("not configured"), 502, "token-endpoint-failed", false },
        { "tokens rejected", new PitchlyTokenRejectedException(Ada, Now.AddSeconds(42), "paused"), 503, "token-rejected", true },
        { "user must sign in", new PitchlySignInRequiredException(Ada, "gone"), 401, "sign-in-required", false },
        { "nobody signed in", new PitchlySignInRequiredException(), 401, "sign-in-required", false },
        { "install tokens gone", new PitchlySignInRequiredException(PitchlyTokenKey.ForInstall("orgAcme"), "gone"), 503, "install-unavailable", false },
        { "organization not registered", new PitchlyOrganizationNotRegisteredException(PitchlyTokenKey.ForInstall("orgGlobex"), "no"), 403, "organization-not-registered", false },
        { "not authorized", new PitchlyNotAuthorizedException("forbidden", [], 200), 403, "not-authorized", false },
        { "GraphQL error", new PitchlyGraphQLException("bad query", [], 200), 502, "graphql-failed", false },
        { "GraphQL 503", new PitchlyGraphQLException("html", [], 503), 503, "graphql-unavailable", true },
        { "subscription refused", new PitchlySubscriptionException("4400", 4400), 502, "subscription-failed", false },
        { "subscription lost", new PitchlySubscriptionReconnectException("lost", 5, null), 503, "subscription-unavailable", true },
        { "origin not allowed", new PitchlyOriginNotAllowedException(new Uri("https://elsewhere.example/graphql"), "refused"), 502, "origin-not-allowed", false },
        { "any other", new PitchlyException("something"), 502, "pitchly-failed", false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Every_documented_failure_has_a_status_that_is_not_500_and_a_retry_after_exactly_when_it_is_retryable(string _, PitchlyException exception, int status, string error, bool retryable)
    {
        var failure = PitchlyFailure.Describe(exception, Now);

        Assert.Equal(retryable, exception.IsRetryable);
        Assert.Equal(status, failure.Status);
        Assert.NotEqual(500, failure.Status);
        Assert.Equal(error, failure.Error);
        Assert.Equal(retryable, failure.RetryAfterSeconds is not null);
        if (retryable)
        {
            Assert.Equal(503, failure.Status);
        }

        // The body is written from the title and detail alone: no key, organization or origin from the exception.
        foreach (var named in new[] { "psnAda", "orgAcme", "orgGlobex", "elsewhere.example" })
        {
            Assert.DoesNotContain(named, failure.Title + failure.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Retry_after_is_the_exceptions_own_hint_when_it_has_one_else_five_seconds()
    {
        Assert.Equal(42, PitchlyFailure.Describe(new PitchlyTokenRejectedException(Ada, Now.AddSeconds(41.2), "paused"), Now).RetryAfterSeconds);
        Assert.Equal(1, PitchlyFailure.Describe(new PitchlyTokenRejectedException(Ada, Now.AddSeconds(-3), "paused"), Now).RetryAfterSeconds);
        Assert.Equal(5, PitchlyFailure.Describe(new PitchlyTokenStoreUnavailableException(), Now).RetryAfterSeconds);
    }

    [Fact]
    public void A_subclass_that_says_it_is_retryable_is_answered_503_whatever_its_base()
    {
        var failure = PitchlyFailure.Describe(new RetryableOriginRefusal(), Now);

        Assert.Equal(503, failure.Status);
        Assert.Equal(5, failure.RetryAfterSeconds);
    }

    [Fact]
    public void The_timeouts_are_pitchly_exceptions_a_lock_timeout_is_a_refresh_timeout()
    {
        PitchlyRefreshTimeoutException lockTimeout = new PitchlyRefreshLockTimeoutException(Ada, TimeSpan.FromSeconds(15), "lock");

        Assert.IsAssignableFrom<PitchlyException>(lockTimeout);
        Assert.Equal(Ada, lockTimeout.Key);
        Assert.Equal(TimeSpan.FromSeconds(15), lockTimeout.Timeout);
        Assert.True(lockTimeout.IsRetryable);
    }

    private sealed class RetryableOriginRefusal : PitchlyOriginNotAllowedException
    {
        public override bool IsRetryable => true;
    }
}
