using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>The grants a refresh sends, each turned into the record to store.</summary>
internal sealed class TokenGrant
{
    private readonly PitchlyTokenClient _client;
    private readonly IOptionsMonitor<PitchlyTokenManagementOptions> _options;
    private readonly TimeProvider _timeProvider;

    public TokenGrant(PitchlyTokenClient client, IOptionsMonitor<PitchlyTokenManagementOptions> options, TimeProvider timeProvider)
    {
        _client = client;
        _options = options;
        _timeProvider = timeProvider;
    }

    /// <summary>Whether installs can get tokens of their own (client credentials are configured).</summary>
    public bool CanAcquireInstallTokens
    {
        get
        {
            var options = _options.CurrentValue;
            return !string.IsNullOrEmpty(options.ClientId) && !string.IsNullOrEmpty(options.ClientSecret);
        }
    }

    /// <summary>Whether <paramref name="exception"/> is Pitchly refusing the refresh token itself (spent, revoked or expired).</summary>
    public static bool IsInvalidGrant(Exception exception) => exception is PitchlyTokenEndpointException { Error: "invalid_grant" };

    /// <summary>
    /// Presents the fenced refresh token. Not cancellable: from here on the refresh token may be spent, and the new one
    /// exists only in the answer. The request gives up by the end of the fence, so no other owner can claim the record
    /// while it may still be answered.
    /// </summary>
    public async Task<PitchlyTokenRecord> RefreshAsync(HeldFence fence)
    {
        var requestedAt = _timeProvider.GetUtcNow();
        var response = await _client.RefreshAsync(fence.RefreshToken, fence.TimeLeft(_timeProvider), CancellationToken.None);
        var spent = fence.Record;

        // Built from the fenced record, so every field that is not a token (the person's sessions among them, and any
        // added later) is carried over; a session change never moves a fenced record (PitchlySessions).
        return spent with
        {
            AccessToken = response.AccessToken,
            ExpiresAt = requestedAt + response.ExpiresIn,
            IssuedAt = requestedAt,
            RefreshToken = response.RefreshToken ?? spent.RefreshToken,
            Scope = response.Scope ?? spent.Scope,
            OrganizationId = spent.OrganizationId ?? fence.Key.OrganizationId,
            Version = 0,
            RefreshIntent = null,
            RefreshTokenMayBeSpent = false,
        };
    }

    /// <summary>
    /// Acquires an install's tokens with the client credentials. Nothing single-use is spent, so no fence; not
    /// cancellable either: tokens Pitchly issues are stored rather than dropped. An organization outside
    /// <see cref="PitchlyTokenManagementOptions.ClientCredentialsOrganizations"/> (when it lists any) is refused before
    /// anything is sent.
    /// </summary>
    public async Task<PitchlyTokenRecord> ClientCredentialsAsync(PitchlyTokenKey key)
    {
        var registered = _options.CurrentValue.ClientCredentialsOrganizations;
        if (registered.Count > 0 && !registered.Contains(key.OrganizationId))
        {
            throw new PitchlyOrganizationNotRegisteredException(
                key,
                $"The install {key} has no usable tokens, and its organization is not in Pitchly:TokenManagement:ClientCredentialsOrganizations, so no client_credentials token was requested. "
                + "Build install keys only from an authenticated context; register the organization, or connect the install through the App SDK exchange.");
        }

        var requestedAt = _timeProvider.GetUtcNow();
        var response = await _client.ClientCredentialsAsync(key.OrganizationId, CancellationToken.None);
        return new PitchlyTokenRecord
        {
            AccessToken = response.AccessToken,
            ExpiresAt = requestedAt + response.ExpiresIn,
            IssuedAt = requestedAt,
            RefreshToken = response.RefreshToken,
            Scope = response.Scope,
            OrganizationId = key.OrganizationId,
        };
    }
}
