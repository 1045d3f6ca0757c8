using Microsoft.Extensions.Time.Testing;
using Pitchly.AspNetCore.Internal.TokenManagement;
using Xunit;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>When a stored access token still serves: the one policy the hot path, the renewal and the refresh share.</summary>
public sealed class RenewalPolicyTests
{
    private static readonly PitchlyTokenKey User = PitchlyTokenKey.ForUser("org_1", "psn_alice");
    private static readonly PitchlyTokenManagementOptions Options = new() { RefreshBeforeExpiry = TimeSpan.FromMinutes(5) };

    private readonly FakeTimeProvider _time = new(TestServices.Start);

    private DateTimeOffset Now => _time.GetUtcNow();

    [Fact]
    public void A_token_serves_until_its_renewal_window_opens_and_not_from_then_on()
    {
        var record = Record(lifetime: TimeSpan.FromHours(1));

        Assert.True(RenewalPolicy.Serves(record, Now, Options));
        Assert.True(RenewalPolicy.Serves(record, Now.AddMinutes(55).AddTicks(-1), Options));
        Assert.False(RenewalPolicy.Serves(record, Now.AddMinutes(55), Options));
        Assert.False(RenewalPolicy.Serves(record, Now.AddHours(2), Options));
    }

    [Fact]
    public void The_renewal_window_is_at_most_half_the_tokens_lifetime()
    {
        var shortLived = Record(lifetime: TimeSpan.FromMinutes(4));

        Assert.Equal(TimeSpan.FromMinutes(2), RenewalPolicy.RenewalWindow(shortLived, Options));
        Assert.Equal(TimeSpan.FromMinutes(5), RenewalPolicy.RenewalWindow(Record(lifetime: TimeSpan.FromHours(1)), Options));
        Assert.True(RenewalPolicy.Serves(shortLived, Now.AddMinutes(2).AddTicks(-1), Options));
        Assert.False(RenewalPolicy.Serves(shortLived, Now.AddMinutes(2), Options));
    }

    [Fact]
    public void A_record_without_an_issue_time_takes_the_configured_window()
        => Assert.Equal(TimeSpan.FromMinutes(5), RenewalPolicy.RenewalWindow(Record(lifetime: TimeSpan.FromMinutes(4)) with { IssuedAt = null }, Options));

    [Fact]
    public void A_token_whose_last_refresh_lost_its_answer_serves_until_it_expires_and_never_beside_a_renewal()
    {
        var record = Record(lifetime: TimeSpan.FromHours(1)) with { RefreshTokenMayBeSpent = true };

        Assert.True(RenewalPolicy.Serves(record, Now.AddMinutes(59), Options));
        Assert.False(RenewalPolicy.Serves(record, Now.AddHours(1), Options));
        Assert.False(RenewalPolicy.ServesDuringRenewal(record, Now.AddMinutes(56), Options));
    }

    [Fact]
    public void A_call_takes_the_current_token_beside_its_renewal_only_in_the_first_half_of_the_window()
    {
        var record = Record(lifetime: TimeSpan.FromHours(1));

        Assert.True(RenewalPolicy.ServesDuringRenewal(record, Now.AddMinutes(57), Options));
        Assert.False(RenewalPolicy.ServesDuringRenewal(record, Now.AddMinutes(57).AddSeconds(30), Options));
        Assert.False(RenewalPolicy.ServesDuringRenewal(record, Now.AddMinutes(59), Options));
    }

    [Fact]
    public void Another_owners_live_fence_lets_a_due_token_serve_until_the_fence_lapses_or_the_token_expires()
    {
        var record = Record(lifetime: TimeSpan.FromHours(1)) with { RefreshIntent = new PitchlyRefreshIntent("another-instance", Now.AddMinutes(58)) };

        Assert.True(RenewalPolicy.IsFencedByAnother(record, Now.AddMinutes(57)));
        Assert.True(RenewalPolicy.ServesWhileAnotherRenews(record, Now.AddMinutes(57)));
        Assert.False(RenewalPolicy.IsFencedByAnother(record, Now.AddMinutes(58)));
        Assert.False(RenewalPolicy.ServesWhileAnotherRenews(record, Now.AddMinutes(58)));

        var expiring = record with { RefreshIntent = new PitchlyRefreshIntent("another-instance", Now.AddHours(2)) };
        Assert.True(RenewalPolicy.IsFencedByAnother(expiring, Now.AddHours(1)));
        Assert.False(RenewalPolicy.ServesWhileAnotherRenews(expiring, Now.AddHours(1)));
    }

    [Fact]
    public void A_rejected_token_is_renewed_already_once_the_store_holds_another_unexpired_one()
    {
        var record = Record(lifetime: TimeSpan.FromHours(1));
        var rejectedHere = RefreshRequest.Rejected(User, record.AccessToken);
        var rejectedEarlier = RefreshRequest.Rejected(User, "an-older-token");

        Assert.False(RenewalPolicy.IsAlreadyRenewed(record, rejectedHere, Now, Options));
        Assert.True(RenewalPolicy.IsAlreadyRenewed(record, rejectedEarlier, Now, Options));
        Assert.False(RenewalPolicy.IsAlreadyRenewed(record, rejectedEarlier, Now.AddHours(1), Options));
    }

    [Fact]
    public void A_renewal_is_done_already_once_the_stored_token_is_outside_its_window()
    {
        var record = Record(lifetime: TimeSpan.FromHours(1));

        Assert.True(RenewalPolicy.IsAlreadyRenewed(record, RefreshRequest.Renewal(User), Now, Options));
        Assert.False(RenewalPolicy.IsAlreadyRenewed(record, RefreshRequest.Renewal(User), Now.AddMinutes(56), Options));
    }

    [Fact]
    public void A_refresh_request_without_a_rejected_token_is_a_renewal_whose_current_token_may_serve()
    {
        Assert.Equal(RefreshReason.Renewal, RefreshRequest.Rejected(User, null).Reason);
        Assert.True(RefreshRequest.Rejected(User, null).CurrentTokenMayServe);
        Assert.Equal(RefreshReason.Rejected, RefreshRequest.Rejected(User, "token").Reason);
        Assert.False(RefreshRequest.Rejected(User, "token").CurrentTokenMayServe);
    }

    private PitchlyTokenRecord Record(TimeSpan lifetime) => new()
    {
        AccessToken = "access-1",
        RefreshToken = "refresh-1",
        IssuedAt = Now,
        ExpiresAt = Now + lifetime,
        OrganizationId = User.OrganizationId,
    };
}
