using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Keeps Pitchly's clients from following redirects. A token or GraphQL POST carries the client secret, a refresh
/// token or a token variable in its body, and a 307 or 308 would replay that body to whatever host the redirect names;
/// the redirect response is handed back instead (the token client and the GraphQL client then fail with a typed error).
/// </summary>
/// <remarks>
/// Redirects are followed inside the primary handler, below every <see cref="DelegatingHandler"/>, so only the primary
/// handler can refuse them. A <see cref="IHttpMessageHandlerBuilderFilter"/> turns
/// <see cref="HttpClientHandler.AllowAutoRedirect"/> (or <see cref="SocketsHttpHandler.AllowAutoRedirect"/>) off after
/// every other configuration of the client ran, so a primary handler the app configured, before or after the Pitchly
/// credential, is kept and only stops following redirects. A primary handler of another type is left as it is.
/// </remarks>
internal static class PitchlyRedirects
{
    /// <summary>Makes the named client hand redirects back instead of following them.</summary>
    public static void Refuse(IServiceCollection services, string clientName)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHttpMessageHandlerBuilderFilter, RefuseRedirectsFilter>());
        services.Configure<RefusedRedirectClients>(clients => clients.Names.Add(clientName));
    }

    /// <summary>Turns automatic redirects off on <paramref name="handler"/>, or on the innermost handler of its chain.</summary>
    public static void Refuse(HttpMessageHandler? handler)
    {
        while (handler is DelegatingHandler delegating)
        {
            handler = delegating.InnerHandler;
        }

        switch (handler)
        {
            case HttpClientHandler httpClientHandler:
                httpClientHandler.AllowAutoRedirect = false;
                break;
            case SocketsHttpHandler socketsHandler:
                socketsHandler.AllowAutoRedirect = false;
                break;
        }
    }

    /// <summary>The names of the clients that must not follow redirects.</summary>
    internal sealed class RefusedRedirectClients
    {
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);
    }

    private sealed class RefuseRedirectsFilter(IOptions<RefusedRedirectClients> clients) : IHttpMessageHandlerBuilderFilter
    {
        public Action<HttpMessageHandlerBuilder> Configure(Action<HttpMessageHandlerBuilder> next) => builder =>
        {
            next(builder);
            if (builder.Name is { } name && clients.Value.Names.Contains(name))
            {
                Refuse(builder.PrimaryHandler);
            }
        };
    }
}
