namespace Pitchly.AspNetCore;

/// <summary>
/// Keys of <see cref="HttpRequestMessage.Options"/> that the package's handlers read, for apps that send their own
/// requests through a client with a Pitchly credential handler.
/// </summary>
public static class PitchlyHttpRequestOptions
{
    /// <summary>
    /// Gets the key of the <see cref="PitchlyTokenKey"/> whose tokens one request carries, whatever key the client's
    /// handler resolves otherwise: <c>request.Options.Set(PitchlyHttpRequestOptions.TokenKey, key)</c>. Honoured by the
    /// handlers of <c>AddPitchlyAccessToken</c>, <c>AddPitchlyUserAccessToken</c> and <c>AddPitchlyInstallAccessToken</c>;
    /// a client with <c>AddPitchlyApiKey</c> or <c>AddPitchlySelfSignedJwt</c> refuses such a request with
    /// <see cref="PitchlyException"/> rather than send another credential. As with a resolver, the key must come from an
    /// authenticated context (the signed-in user, or a tenant the server itself decided), never from a value the caller chooses.
    /// </summary>
    public static HttpRequestOptionsKey<PitchlyTokenKey> TokenKey { get; } = new("Pitchly.TokenKey");
}
