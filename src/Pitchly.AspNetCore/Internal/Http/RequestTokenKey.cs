using System.Runtime.CompilerServices;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Reads <see cref="PitchlyHttpRequestOptions.TokenKey"/> from a request without creating its options: reading
/// <see cref="HttpRequestMessage.Options"/> creates them (a dictionary per request) on a request that has none, which is
/// every request of the hot path. Falls back to the property if the runtime's field is not there.
/// </summary>
internal static class RequestTokenKey
{
    private static bool s_fieldMissing;

    public static PitchlyTokenKey? Find(HttpRequestMessage request)
    {
        HttpRequestOptions? options;
        if (Volatile.Read(ref s_fieldMissing))
        {
            options = request.Options;
        }
        else
        {
            try
            {
                options = OptionsField(request);
            }
            catch (MissingFieldException)
            {
                Volatile.Write(ref s_fieldMissing, true);
                options = request.Options;
            }
        }

        return options is not null && options.TryGetValue(PitchlyHttpRequestOptions.TokenKey, out var key) ? key : null;
    }

    /// <summary>Throws when a request carries a key that a handler with another credential cannot honour.</summary>
    public static void ThrowIfPresent(HttpRequestMessage request, string credential)
    {
        if (Find(request) is { } key)
        {
            throw new PitchlyException(
                $"This client calls Pitchly with {credential}, so it cannot carry the tokens of {key} that the request asks for (PitchlyHttpRequestOptions.TokenKey). Send the request through a client with AddPitchlyAccessToken.");
        }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_options")]
    private static extern ref HttpRequestOptions? OptionsField(HttpRequestMessage request);
}
