using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Security.Claims;

namespace Pitchly.AspNetCore;

/// <summary>
/// Identifies one record in the token store: a user (Pitchly person + organization) or an install
/// (organization, optionally a database). Ids are not secrets, but stores that persist keys hash them. Ids may not
/// contain ':' (the separator of <see cref="Value"/>), white space or control characters, and a database id may not be
/// '*' (which stands for "no database"), so two different keys never share a <see cref="Value"/>.
/// </summary>
public sealed record PitchlyTokenKey
{
    // Computed once: a key is hashed on every store lookup, and at a large population its text is a likely cache miss.
    private readonly int _hashCode;

    /// <summary>
    /// The entry a <see cref="Internal.KeyedEntryTable{TEntry}"/> last found for this key object, which the table serves
    /// again without reading its slots while the entry is still in it: a caller that keeps its key object (an install
    /// key, the key the access-token handler reuses for a user's consecutive calls) skips the index, the part of a lookup
    /// that costs a cache miss at a large population. Not part of the key's value.
    /// </summary>
    internal Internal.KeyedEntry? LookupHint;

    private PitchlyTokenKey(PitchlyTokenKind kind, string organizationId, string? personId, string? databaseId)
    {
        Kind = kind;
        OrganizationId = organizationId;
        PersonId = personId;
        DatabaseId = databaseId;
        Value = kind == PitchlyTokenKind.User
            ? $"user:{organizationId}:{personId}"
            : $"install:{organizationId}:{databaseId ?? "*"}";
        _hashCode = StringComparer.Ordinal.GetHashCode(Value);
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
    /// <exception cref="ArgumentException">An id is empty or contains ':', white space or a control character.</exception>
    public static PitchlyTokenKey ForUser(string organizationId, string personId)
    {
        RequireId(organizationId);
        RequireId(personId);
        return new PitchlyTokenKey(PitchlyTokenKind.User, organizationId, personId, null);
    }

    /// <summary>Creates the key of an install: the organization that installed the app, optionally one database.</summary>
    /// <param name="organizationId">The organization that installed the app.</param>
    /// <param name="databaseId">The database the app is installed on, if any.</param>
    /// <exception cref="ArgumentException">
    /// An id contains ':', white space or a control character, the organization id is empty, or the database id is '*'.
    /// </exception>
    public static PitchlyTokenKey ForInstall(string organizationId, string? databaseId = null)
    {
        RequireId(organizationId);
        if (!string.IsNullOrEmpty(databaseId))
        {
            RequireId(databaseId);
            if (databaseId == "*")
            {
                throw new ArgumentException("A Pitchly database id cannot be '*', which stands for an install without a database; pass null instead.", nameof(databaseId));
            }
        }

        return new PitchlyTokenKey(PitchlyTokenKind.Install, organizationId, null, string.IsNullOrEmpty(databaseId) ? null : databaseId);
    }

    /// <summary>
    /// Gets the user key of a principal signed in with Pitchly, from its <see cref="PitchlyClaimTypes.PersonId"/> and
    /// <see cref="PitchlyClaimTypes.OrganizationId"/> claims (or <see cref="ClaimTypes.NameIdentifier"/> for principals
    /// issued without the person id claim); <see langword="null"/> when the principal carries no valid Pitchly ids.
    /// </summary>
    /// <param name="principal">The signed-in user.</param>
    /// <remarks>
    /// The dedicated person id claim keeps the key stable when an application replaces or adds a
    /// <see cref="ClaimTypes.NameIdentifier"/> (in <c>OnCreatingTicket</c>, or through another sign-in scheme).
    /// </remarks>
    public static PitchlyTokenKey? FromPrincipal(ClaimsPrincipal? principal) => FromPrincipal(principal, reuse: null);

    /// <summary>
    /// Like <see cref="FromPrincipal(ClaimsPrincipal?)"/>, but returns <paramref name="reuse"/> itself when it is the
    /// user key the principal's ids make (keys are immutable and compared by value), so a caller that resolves the same
    /// user's key on every request allocates nothing for it.
    /// </summary>
    internal static PitchlyTokenKey? FromPrincipal(ClaimsPrincipal? principal, PitchlyTokenKey? reuse)
    {
        string? organizationId, personId;
        if (principal is null)
        {
            return null;
        }

        if (!TryFindIds(principal, out organizationId, out personId))
        {
            organizationId = principal.FindFirst(PitchlyClaimTypes.OrganizationId)?.Value;
            personId = principal.FindFirst(PitchlyClaimTypes.PersonId)?.Value ?? principal.FindFirst(ClaimTypes.NameIdentifier)?.Value;
        }

        // The same ids as the key to reuse: they were valid when it was made (usually the very strings, so the
        // comparison is a reference check), and checking them again character by character was half this method.
        if (reuse is { Kind: PitchlyTokenKind.User }
            && organizationId is not null
            && personId is not null
            && string.Equals(reuse.OrganizationId, organizationId, StringComparison.Ordinal)
            && string.Equals(reuse.PersonId, personId, StringComparison.Ordinal))
        {
            return reuse;
        }

        if (!IsValidId(organizationId) || !IsValidId(personId))
        {
            return null;
        }

        return new PitchlyTokenKey(PitchlyTokenKind.User, organizationId, personId, null);
    }

    /// <inheritdoc />
    public override string ToString() => Value;

    // What FindFirst finds for the three claim types (the first claim of each type, identity by identity, type compared
    // ignoring case), in one pass and without an enumerator per lookup; only for the framework's own types, whose
    // lookups are known. Runs on every call of a user's HttpClient.
    private static bool TryFindIds(ClaimsPrincipal principal, out string? organizationId, out string? personId)
    {
        organizationId = personId = null;
        if (principal.GetType() != typeof(ClaimsPrincipal) || principal.Identities is not List<ClaimsIdentity> identities)
        {
            return false;
        }

        foreach (var identity in identities)
        {
            if (identity is not null && (identity.GetType() != typeof(ClaimsIdentity) || identity.Claims is not List<Claim>))
            {
                return false;
            }
        }

        string? nameIdentifier = null;
        foreach (var identity in identities)
        {
            if (identity is null)
            {
                continue;
            }

            foreach (var claim in (List<Claim>)identity.Claims)
            {
                if (claim is null)
                {
                    continue;
                }

                if (organizationId is null && string.Equals(claim.Type, PitchlyClaimTypes.OrganizationId, StringComparison.OrdinalIgnoreCase))
                {
                    organizationId = claim.Value;
                }
                else if (personId is null && string.Equals(claim.Type, PitchlyClaimTypes.PersonId, StringComparison.OrdinalIgnoreCase))
                {
                    personId = claim.Value;
                }
                else if (nameIdentifier is null && string.Equals(claim.Type, ClaimTypes.NameIdentifier, StringComparison.OrdinalIgnoreCase))
                {
                    nameIdentifier = claim.Value;
                }
            }
        }

        personId ??= nameIdentifier;
        return true;
    }

    // Pitchly's ids are alphanumeric; refusing the separator and invisible characters keeps Value injective.
    private static bool IsValidId([NotNullWhen(true)] string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return false;
        }

        foreach (var character in id)
        {
            if (character == ':' || char.IsWhiteSpace(character) || char.IsControl(character))
            {
                return false;
            }
        }

        return true;
    }

    private static void RequireId(string id, [CallerArgumentExpression(nameof(id))] string? parameterName = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id, parameterName);
        if (!IsValidId(id))
        {
            throw new ArgumentException(
                $"A Pitchly id cannot contain ':', white space or control characters (Pitchly's ids are alphanumeric); '{parameterName}' does.",
                parameterName);
        }
    }

    /// <inheritdoc />
    public bool Equals(PitchlyTokenKey? other) =>
        ReferenceEquals(this, other)
        || (other is not null && _hashCode == other._hashCode && string.Equals(Value, other.Value, StringComparison.Ordinal));

    /// <inheritdoc />
    public override int GetHashCode() => _hashCode;
}
