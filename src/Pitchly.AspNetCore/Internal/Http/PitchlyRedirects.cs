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
/// credential, is kept and only stops following redirects. On a client that carries a Pitchly credential handler, a
/// primary handler of another type (where redirects cannot be turned off) fails the client's creation, unless the
/// client's <see cref="PitchlyAccessTokenHandlerOptions.AllowCustomPrimaryHandler"/> says it is safe; on the package's
/// own clients it is left as it is.
/// </remarks>
internal static class PitchlyRedirects
{
    /// <summary>
    /// Makes the named client hand redirects back instead of following them; with <paramref name="carriesCredential"/>,
    /// also refuses a primary handler on which that cannot be done, unless the client's options allow it.
    /// </summary>
    public static void Refuse(IServiceCollection services, string clientName, bool carriesCredential = false)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHttpMessageHandlerBuilderFilter, RefuseRedirectsFilter>());
        services.Configure<RefusedRedirectClients>(clients =>
        {
            clients.Names.Add(clientName);
            if (carriesCredential)
            {
                clients.CredentialClients.Add(clientName);
            }
        });
    }

    /// <summary>
    /// Turns automatic redirects off on <paramref name="handler"/>, or on the innermost handler of its chain;
    /// <see langword="false"/> when that handler is of a type this cannot be done on.
    /// </summary>
    public static bool Refuse(HttpMessageHandler? handler)
    {
        switch (Innermost(handler))
        {
            case HttpClientHandler httpClientHandler:
                httpClientHandler.AllowAutoRedirect = false;
                return true;
            case SocketsHttpHandler socketsHandler:
                socketsHandler.AllowAutoRedirect = false;
                return true;
            default:
                return false;
        }
    }

    private static HttpMessageHandler? Innermost(HttpMessageHandler? handler)
    {
        while (handler is DelegatingHandler delegating)
        {
            handler = delegating.InnerHandler;
        }

        return handler;
    }

    /// <summary>The names of the clients that must not follow redirects.</summary>
    internal sealed class RefusedRedirectClients
    {
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        /// <summary>The names of the clients that carry a Pitchly credential handler.</summary>
        public HashSet<string> CredentialClients { get; } = new(StringComparer.Ordinal);
    }

    private sealed class RefuseRedirectsFilter(IOptions<RefusedRedirectClients> clients, IOptionsMonitor<PitchlyAccessTokenHandlerOptions> handlerOptions)
        : IHttpMessageHandlerBuilderFilter
    {
        public Action<HttpMessageHandlerBuilder> Configure(Action<HttpMessageHandlerBuilder> next) => builder =>
        {
            next(builder);
            if (builder.Name is not { } name || !clients.Value.Names.Contains(name) || Refuse(builder.PrimaryHandler)
                || !clients.Value.CredentialClients.Contains(name) || handlerOptions.Get(name).AllowCustomPrimaryHandler)
            {
                return;
            }

            var type = Innermost(builder.PrimaryHandler)?.GetType().FullName ?? "a DelegatingHandler with no inner handler";
            throw new InvalidOperationException(
                $"The HttpClient '{name}' carries a Pitchly credential, and its primary handler is {type}, on which automatic redirects cannot be turned off: "
                + "a 307 or 308 answer would send the credential and the request body to whatever host it names. Use an HttpClientHandler or a SocketsHttpHandler "
                + $"(the package turns their redirects off), or, if {type} never follows redirects, set PitchlyAccessTokenHandlerOptions.AllowCustomPrimaryHandler "
                + $"for this client (the configure callback of its AddPitchly... call, or {ConfigurePitchlyAccessTokenHandlerOptions.SectionName}:AllowCustomPrimaryHandler).");
        };
    }
}
