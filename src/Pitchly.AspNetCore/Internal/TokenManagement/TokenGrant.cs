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
        return new PitchlyTokenRecord
        {
            AccessToken = response.AccessToken,
            ExpiresAt = requestedAt + response.ExpiresIn,
            IssuedAt = requestedAt,
            RefreshToken = response.RefreshToken ?? spent.RefreshToken,
            Scope = response.Scope ?? spent.Scope,
            OrganizationId = spent.OrganizationId ?? fence.Key.OrganizationId,

            // The person's sign-ins outlive a rotation; a session change never moves a fenced record (PitchlySessions).
            Sessions = spent.Sessions,
        };
    }

    /// <summary>
    /// Acquires an install's tokens with the client credentials. Nothing single-use is spent, so no fence; not
    /// cancellable either: tokens Pitchly issues are stored rather than dropped.
    /// </summary>
    public async Task<PitchlyTokenRecord> ClientCredentialsAsync(PitchlyTokenKey key)
    {
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
