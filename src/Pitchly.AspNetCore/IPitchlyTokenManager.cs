namespace Pitchly.AspNetCore;

/// <summary>
/// Keeps the Pitchly access token of a key valid: renews it shortly before it expires and refreshes it when Pitchly
/// rejects it, spending each single-use refresh token at most once. Usable without an HTTP request (background
/// services pass the key of an install).
/// </summary>
public interface IPitchlyTokenManager
{
    /// <summary>
    /// Gets a valid access token for <paramref name="key"/>. Answers from the store without locking while the token
    /// is outside its renewal window; inside the window or after expiry, joins or starts the one refresh of the key.
    /// Install keys without tokens get one from the <c>client_credentials</c> grant, for whatever organization the key
    /// names: build install keys only from an authenticated context (see
    /// <see cref="PitchlyTokenManagementOptions.ClientCredentialsOrganizations"/>).
    /// </summary>
    /// <param name="key">Whose token.</param>
    /// <param name="cancellationToken">Stops waiting; a refresh already started still completes and is stored.</param>
    /// <exception cref="PitchlySignInRequiredException">A user key has no tokens, or Pitchly refused its refresh token.</exception>
    /// <exception cref="PitchlyTokenEndpointException">Pitchly's token endpoint failed or could not be reached.</exception>
    /// <exception cref="PitchlyTokenStoreUnavailableException">The shared token store or lock cannot be reached.</exception>
    /// <exception cref="PitchlyRefreshTimeoutException">The refresh did not complete within <see cref="PitchlyTokenManagementOptions.RefreshTimeout"/>, or its lock was not granted in time (<see cref="PitchlyRefreshLockTimeoutException"/>).</exception>
    /// <exception cref="PitchlyOrganizationNotRegisteredException">An install key without usable tokens names an organization outside <see cref="PitchlyTokenManagementOptions.ClientCredentialsOrganizations"/>.</exception>
    ValueTask<PitchlyAccessToken> GetAccessTokenAsync(PitchlyTokenKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Refreshes the access token of <paramref name="key"/> after Pitchly answered that
    /// <paramref name="failedAccessToken"/> is invalid. When another caller or instance has already stored a different
    /// token, that token is returned and no refresh token is spent.
    /// </summary>
    /// <param name="key">Whose token.</param>
    /// <param name="failedAccessToken">The access token Pitchly rejected, or <see langword="null"/> to force a renewal.</param>
    /// <param name="cancellationToken">Stops waiting; a refresh already started still completes and is stored.</param>
    /// <exception cref="PitchlySignInRequiredException">There are no tokens, or Pitchly refused the refresh token.</exception>
    /// <exception cref="PitchlyTokenEndpointException">Pitchly's token endpoint failed or could not be reached.</exception>
    /// <exception cref="PitchlyTokenStoreUnavailableException">The shared token store or lock cannot be reached.</exception>
    /// <exception cref="PitchlyRefreshTimeoutException">The refresh did not complete within <see cref="PitchlyTokenManagementOptions.RefreshTimeout"/>, or its lock was not granted in time (<see cref="PitchlyRefreshLockTimeoutException"/>).</exception>
    /// <exception cref="PitchlyOrganizationNotRegisteredException">An install key without usable tokens names an organization outside <see cref="PitchlyTokenManagementOptions.ClientCredentialsOrganizations"/>.</exception>
    Task<PitchlyAccessToken> RefreshAsync(PitchlyTokenKey key, string? failedAccessToken, CancellationToken cancellationToken = default);
}
