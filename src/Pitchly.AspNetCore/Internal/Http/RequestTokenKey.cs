using System.Diagnostics.CodeAnalysis;
using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Reads <see cref="PitchlyHttpRequestOptions.TokenKey"/> from a request without creating its options: reading
/// <see cref="HttpRequestMessage.Options"/> creates them (a dictionary per request) on a request that has none, which is
/// every request of the hot path. The runtime's field is read through a getter compiled once (not an
/// <c>UnsafeAccessor</c>: an extern method has no body, which IL rewriters such as Coyote's cannot process); where the
/// field is missing or code cannot be compiled at run time, the property is read instead.
/// </summary>
internal static class RequestTokenKey
{
    private static readonly Func<HttpRequestMessage, HttpRequestOptions?> ReadOptions = CreateReader();

    public static PitchlyTokenKey? Find(HttpRequestMessage request)
        => ReadOptions(request) is { } options && options.TryGetValue(PitchlyHttpRequestOptions.TokenKey, out var key) ? key : null;

    /// <summary>Throws when a request carries a key that a handler with another credential cannot honour.</summary>
    public static void ThrowIfPresent(HttpRequestMessage request, string credential)
    {
        if (Find(request) is { } key)
        {
            throw new PitchlyException(
                $"This client calls Pitchly with {credential}, so it cannot carry the tokens of {key} that the request asks for (PitchlyHttpRequestOptions.TokenKey). Send the request through a client with AddPitchlyAccessToken.");
        }
    }

    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "A trimmed-away field leaves null, and the property is read instead.")]
    private static Func<HttpRequestMessage, HttpRequestOptions?> CreateReader()
    {
        var field = typeof(HttpRequestMessage).GetField("_options", BindingFlags.Instance | BindingFlags.NonPublic);
        if (field is null || field.FieldType != typeof(HttpRequestOptions) || !RuntimeFeature.IsDynamicCodeCompiled)
        {
            return static request => request.Options;
        }

        var request = Expression.Parameter(typeof(HttpRequestMessage), "request");
        return Expression.Lambda<Func<HttpRequestMessage, HttpRequestOptions?>>(Expression.Field(request, field), request).Compile();
    }
}
