using System.Security.Claims;

namespace Pitchly.AspNetCore;

/// <summary>
/// Identifies one record in the token store: a user (Pitchly person + organization) or an install
/// (organization, optionally a database). Ids are not secrets, but stores that persist keys hash them.
/// </summary>
public sealed record PitchlyTokenKey
{
    private PitchlyTokenKey(PitchlyTokenKind kind, string organizationId, string? personId, string? databaseId)
    {
        Kind = kind;
        OrganizationId = organizationId;
        PersonId = personId;
        DatabaseId = databaseId;
        Value = kind == PitchlyTokenKind.User
            ? $"user:{organizationId}:{personId}"
            : $"install:{organizationId}:{databaseId ?? "*"}";
    }

    /// <summary>Gets what this key identifies.</summary>
    public PitchlyTokenKind Kind { get; }

    /// <summary>Gets the Pitchly organization id.</summary>
    public string OrganizationId { get; }

    /// <summary>Gets the Pitchly person id, for <see cref="PitchlyTokenKind.User"/> keys.</summary>
    public string? PersonId { get; }

    /// <summary>Gets the database the app is installed on, for <see cref="PitchlyTokenKind.Install"/> keys that name one.</summary>
    public string? DatabaseId { get; }

    /// <summary>Gets the canonical text of the key (for example <c>user:{organization}:{person}</c>).</summary>
    public string Value { get; }

    /// <summary>Creates the key of a signed-in Pitchly person.</summary>
    /// <param name="organizationId">The person's organization id.</param>
    /// <param name="personId">The person id.</param>
    public static PitchlyTokenKey ForUser(string organizationId, string personId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(organizationId);
        ArgumentException.ThrowIfNullOrWhiteSpace(personId);
        return new PitchlyTokenKey(PitchlyTokenKind.User, organizationId, personId, null);
    }

    /// <summary>Creates the key of an install: the organization that installed the app, optionally one database.</summary>
    /// <param name="organizationId">The organization that installed the app.</param>
    /// <param name="databaseId">The database the app is installed on, if any.</param>
    public static PitchlyTokenKey ForInstall(string organizationId, string? databaseId = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(organizationId);
        return new PitchlyTokenKey(PitchlyTokenKind.Install, organizationId, null, string.IsNullOrEmpty(databaseId) ? null : databaseId);
    }

    /// <summary>
    /// Gets the user key of a principal signed in with Pitchly, from its <see cref="ClaimTypes.NameIdentifier"/>
    /// (person id) and <see cref="PitchlyClaimTypes.OrganizationId"/> claims; <see langword="null"/> when either is missing.
    /// </summary>
    /// <param name="principal">The signed-in user.</param>
    public static PitchlyTokenKey? FromPrincipal(ClaimsPrincipal? principal)
    {
        var personId = principal?.FindFirst(ClaimTypes.NameIdentifier)?.Value;
        var organizationId = principal?.FindFirst(PitchlyClaimTypes.OrganizationId)?.Value;
        return string.IsNullOrEmpty(personId) || string.IsNullOrEmpty(organizationId)
            ? null
            : ForUser(organizationId, personId);
    }

    /// <inheritdoc />
    public override string ToString() => Value;

    /// <inheritdoc />
    public bool Equals(PitchlyTokenKey? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);
}
