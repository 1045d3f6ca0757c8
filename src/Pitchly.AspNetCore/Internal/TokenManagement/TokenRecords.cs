namespace Pitchly.AspNetCore.Internal.TokenManagement;

/// <summary>Small conversions of stored records and the errors that name a key.</summary>
internal static class TokenRecords
{
    /// <summary>The access token a caller gets from <paramref name="record"/>.</summary>
    public static PitchlyAccessToken ToAccessToken(this PitchlyTokenRecord record) => new(record.AccessToken, record.ExpiresAt);

    /// <summary>The typed error that tells the app a user must sign in again (or an install be connected again).</summary>
    public static PitchlySignInRequiredException SignInRequired(PitchlyTokenKey key, string reason, Exception? innerException = null)
        => new(
            key,
            key.Kind == PitchlyTokenKind.User
                ? $"The user {key} must sign in with Pitchly again: {reason}."
                : $"The install {key} must be connected to Pitchly again: {reason}.",
            innerException);
}
