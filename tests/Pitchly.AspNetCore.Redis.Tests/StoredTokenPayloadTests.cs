using System.Text;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>The encrypted part of a Redis record: sessions under a short field of their own, and payloads written before it still read.</summary>
public sealed class StoredTokenPayloadTests
{
    private static readonly PitchlyTokenKey Ada = PitchlyTokenKey.ForUser("org1", "person1");
    private static readonly DateTimeOffset Now = new(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void Sessions_are_written_under_a_short_field_and_read_back_in_order()
    {
        var record = new PitchlyTokenRecord
        {
            AccessToken = "at",
            ExpiresAt = Now.AddHours(1),
            Sessions = [new PitchlySession("phone", Now), new PitchlySession("laptop", Now.AddMinutes(1))],
        };

        var json = JsonSerializer.Serialize(StoredTokenPayload.From(record), RedisStoreJsonContext.Default.StoredTokenPayload);
        var read = JsonSerializer.Deserialize(json, RedisStoreJsonContext.Default.StoredTokenPayload)!.ToRecord(7, null);

        Assert.Contains("\"ss\":[{\"id\":\"phone\",\"at\":", json, StringComparison.Ordinal);
        Assert.Equal(record.Sessions, read.Sessions);
    }

    [Fact]
    public void A_payload_written_before_sessions_were_tracked_reads_as_a_record_with_untracked_sessions()
    {
        var written = Encoding.UTF8.GetBytes($$"""{"at":"at","exp":"{{Now.AddHours(1):O}}","rt":"rt","org":"org1"}""");
        var data = new EphemeralDataProtectionProvider();
        var reader = new RedisRecordProtector(data);
        var old = data.CreateProtector("Pitchly.AspNetCore.TokenStore").CreateProtector(Ada.Value).Protect(written);

        var read = reader.TryUnprotect(Ada, old, out var failure)!.ToRecord(3, null);

        Assert.Null(failure);
        Assert.Null(read.Sessions);
        Assert.Equal("rt", read.RefreshToken);
        Assert.Equal("at", read.AccessToken);
    }
}
