using System.Text.Json.Serialization;

namespace Pitchly.AspNetCore.Redis.Internal;

/// <summary>
/// The part of a <see cref="PitchlyTokenRecord"/> kept encrypted in Redis. The version lives beside it in plaintext
/// (field <c>v</c>) so the Lua scripts can compare it; everything here is protected (field <c>d</c>).
/// </summary>
internal sealed record StoredTokenPayload(
    [property: JsonPropertyName("at")] string AccessToken,
    [property: JsonPropertyName("exp")] DateTimeOffset ExpiresAt,
    [property: JsonPropertyName("iat")] DateTimeOffset? IssuedAt,
    [property: JsonPropertyName("rt")] string? RefreshToken,
    [property: JsonPropertyName("scope")] string? Scope,
    [property: JsonPropertyName("org")] string? OrganizationId,
    [property: JsonPropertyName("mbs")] bool RefreshTokenMayBeSpent = false,
    [property: JsonPropertyName("ss")] IReadOnlyList<StoredSession>? Sessions = null)
{
    public static StoredTokenPayload From(PitchlyTokenRecord record) =>
        new(
            record.AccessToken,
            record.ExpiresAt,
            record.IssuedAt,
            record.RefreshToken,
            record.Scope,
            record.OrganizationId,
            record.RefreshTokenMayBeSpent,
            record.Sessions?.Select(static s => new StoredSession(s.Id, s.CreatedAt)).ToArray());

    public PitchlyTokenRecord ToRecord(long version, PitchlyRefreshIntent? intent) => new()
    {
        RefreshIntent = intent,
        RefreshTokenMayBeSpent = RefreshTokenMayBeSpent,
        AccessToken = AccessToken,
        ExpiresAt = ExpiresAt,
        IssuedAt = IssuedAt,
        RefreshToken = RefreshToken,
        Scope = Scope,
        OrganizationId = OrganizationId,
        Version = version,

        // Absent in payloads written before sessions were tracked: the record's sessions are then untracked.
        Sessions = Sessions?.Select(static s => new PitchlySession(s.Id, s.CreatedAt)).ToArray(),
    };

    /// <inheritdoc />
    public override string ToString() => $"StoredTokenPayload {{ ExpiresAt = {ExpiresAt:O}, HasRefreshToken = {RefreshToken is not null} }}";
}

/// <summary>One <see cref="PitchlySession"/> in a <see cref="StoredTokenPayload"/>, under short names.</summary>
internal sealed record StoredSession(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("at")] DateTimeOffset CreatedAt);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(StoredTokenPayload))]
internal sealed partial class RedisStoreJsonContext : JsonSerializerContext;
