using System.Text.Json;

namespace Pitchly.AspNetCore.Storm.Farm;

/// <summary>The emulator's counters, as <c>GET /_emulator/stats</c> reports them (snake_case names).</summary>
public sealed class EmulatorStats
{
    private readonly Dictionary<string, long> _counters;

    private EmulatorStats(Dictionary<string, long> counters) => _counters = counters;

    /// <summary>Gets the number of successful <c>refresh_token</c> grants.</summary>
    public long RefreshGrants => this["refresh_grants"];

    /// <summary>Gets how many times a spent refresh token was presented again.</summary>
    public long RefreshTokenReuse => this["refresh_token_reuse"];

    /// <summary>Gets the number of successful <c>authorization_code</c> grants (sign-ins).</summary>
    public long AuthorizationCodeGrants => this["authorization_code_grants"];

    /// <summary>Gets the number of GraphQL requests.</summary>
    public long GraphQLRequests => this["graphql_requests"];

    /// <summary>Gets the number of GraphQL requests answered "unauthenticated".</summary>
    public long GraphQLUnauthenticated => this["graphql_unauthenticated"];

    /// <summary>Gets the number of requests to the token endpoint, answered or not.</summary>
    public long TokenRequests => this["token_requests"];

    /// <summary>Gets the number of token families revoked (a spent refresh token presented again, in strict mode).</summary>
    public long RevokedFamilies => this["revoked_families"];

    /// <summary>Gets the number of access tokens invalidated early (by rate or on request).</summary>
    public long EarlyInvalidations => this["early_invalidations"];

    /// <summary>Gets how many early invalidations hit an access token no GraphQL request had used yet.</summary>
    public long InvalidatedBeforeFirstUse => this["invalidated_before_first_use"];

    /// <summary>Gets a counter by its snake_case name; a counter the emulator does not report reads as 0.</summary>
    public long this[string name] => _counters.GetValueOrDefault(name);

    /// <summary>Reads the numeric members of a stats document.</summary>
    public static EmulatorStats Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var member in document.RootElement.EnumerateObject())
        {
            if (member.Value.ValueKind == JsonValueKind.Number && member.Value.TryGetInt64(out var value))
            {
                counters[member.Name] = value;
            }
        }

        return new EmulatorStats(counters);
    }

    /// <inheritdoc />
    public override string ToString() => string.Join(", ", _counters.Select(c => $"{c.Key}={c.Value}"));
}
