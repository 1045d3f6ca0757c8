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
    [property: JsonPropertyName("mbs")] bool RefreshTokenMayBeSpent = false)
{
    public static StoredTokenPayload From(PitchlyTokenRecord record) =>
        new(record.AccessToken, record.ExpiresAt, record.IssuedAt, record.RefreshToken, record.Scope, record.OrganizationId, record.RefreshTokenMayBeSpent);

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
    };

    /// <inheritdoc />
    public override string ToString() => $"StoredTokenPayload {{ ExpiresAt = {ExpiresAt:O}, HasRefreshToken = {RefreshToken is not null} }}";
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(StoredTokenPayload))]
internal sealed partial class RedisStoreJsonContext : JsonSerializerContext;
