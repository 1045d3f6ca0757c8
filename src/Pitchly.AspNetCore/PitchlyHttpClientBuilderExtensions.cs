using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal;
using Pitchly.AspNetCore.Internal.Http;
using Pitchly.AspNetCore.Internal.Replay;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Pitchly authentication to <see cref="HttpClient"/>s created by IHttpClientFactory.</summary>
/// <remarks>
/// Every handler added here sends its credential only to the origins of
/// <see cref="PitchlyAccessTokenHandlerOptions.AllowedOrigins"/> (Pitchly's configured endpoints and the app's
/// additions); a request elsewhere fails with <see cref="PitchlyOriginNotAllowedException"/> and carries nothing. The
/// client's primary handler must be an <see cref="HttpClientHandler"/> or a <see cref="SocketsHttpHandler"/> (its
/// redirects are turned off) unless <see cref="PitchlyAccessTokenHandlerOptions.AllowCustomPrimaryHandler"/> is set;
/// creating the client fails otherwise.
/// </remarks>
public static class PitchlyHttpClientBuilderExtensions
{
    /// <summary>
    /// Calls Pitchly as the signed-in user of the current request: attaches the user's access token, and when Pitchly
    /// rejects it, refreshes it and replays the request once. Also adds token management if it was not added.
    /// </summary>
    /// <param name="builder">The HttpClient to configure.</param>
    /// <param name="configure">Configures token placement, buffering caps and invalid-token codes for this client; runs after the <c>Pitchly:AccessToken</c> configuration section.</param>
    /// <returns>The same builder.</returns>
    /// <remarks>
    /// The user is read per request from <see cref="IHttpContextAccessor"/>; a request without a Pitchly user throws
    /// <see cref="PitchlySignInRequiredException"/>.
    /// </remarks>
    public static IHttpClientBuilder AddPitchlyUserAccessToken(this IHttpClientBuilder builder, Action<PitchlyAccessTokenHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHttpContextAccessor();
        return builder.AddPitchlyAccessTokenHandler(
            static services =>
            {
                var accessor = services.GetRequiredService<IHttpContextAccessor>();

                // The last key resolved, reused while calls are the same user's (a request's calls, a busy user's
                // requests): a key is immutable, so sharing it across threads is safe, and a race only costs a new key.
                PitchlyTokenKey? last = null;
                return () => last = PitchlyTokenKey.FromPrincipal(accessor.HttpContext?.User, last)
                    ?? throw new PitchlySignInRequiredException("Calling Pitchly as the user needs a user signed in with Pitchly, and the current request has none.");
            },
            configure);
    }

    /// <summary>
    /// Calls Pitchly as an install of the app (no user present, for example in a background service), with an
    /// app-level token for the organization from the <c>client_credentials</c> grant, or the install's stored tokens.
    /// </summary>
    /// <param name="builder">The HttpClient to configure.</param>
    /// <param name="organizationId">The organization that installed the app.</param>
    /// <param name="databaseId">The database the app is installed on, if any.</param>
    /// <param name="configure">Configures token placement, buffering caps and invalid-token codes for this client; runs after the <c>Pitchly:AccessToken</c> configuration section.</param>
    /// <returns>The same builder.</returns>
    public static IHttpClientBuilder AddPitchlyInstallAccessToken(this IHttpClientBuilder builder, string organizationId, string? databaseId = null, Action<PitchlyAccessTokenHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var key = PitchlyTokenKey.ForInstall(organizationId, databaseId);
        return builder.AddPitchlyAccessTokenHandler(_ => () => key, configure);
    }

    /// <summary>
    /// Calls Pitchly with the tokens of a key chosen per request, for example an install picked from the current
    /// tenant. <paramref name="resolveKey"/> runs for every request with the current request's services
    /// (<see cref="HttpContext.RequestServices"/>), so scoped services such as a tenant context are the request's own;
    /// with no request (a background service), with a scope created for that one call and disposed once the key is
    /// returned. Never with the scope IHttpClientFactory keeps for a handler's lifetime.
    /// <para>
    /// The tenant must come from an authenticated context: the signed-in user's claims, or a tenant the server itself
    /// decided (a job's own data), never a header, route or query value the caller chooses. An install key without stored
    /// tokens is given app-level tokens with the <c>client_credentials</c> grant for whatever organization it names, so a
    /// caller-chosen tenant would act as that organization's install. In the fresh scope of a call without a request,
    /// request-scoped tenant services are empty: resolve from what the background work carries, or throw. To refuse
    /// <c>client_credentials</c> for organizations the app has not registered, list them in
    /// <see cref="PitchlyTokenManagementOptions.ClientCredentialsOrganizations"/>
    /// (<see cref="PitchlyOrganizationNotRegisteredException"/> otherwise).
    /// </para>
    /// </summary>
    /// <param name="builder">The HttpClient to configure.</param>
    /// <param name="resolveKey">Returns the key whose tokens the request carries.</param>
    /// <param name="configure">Configures token placement, buffering caps and invalid-token codes for this client; runs after the <c>Pitchly:AccessToken</c> configuration section.</param>
    /// <returns>The same builder.</returns>
    public static IHttpClientBuilder AddPitchlyInstallAccessToken(this IHttpClientBuilder builder, Func<IServiceProvider, PitchlyTokenKey> resolveKey, Action<PitchlyAccessTokenHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(resolveKey);
        builder.Services.AddHttpContextAccessor();
        return builder.AddPitchlyAccessTokenHandler(
            services =>
            {
                // services is the handler's scope, which outlives many requests: only singletons are taken from it.
                var accessor = services.GetRequiredService<IHttpContextAccessor>();
                var scopes = services.GetRequiredService<IServiceScopeFactory>();
                return () =>
                {
                    if (accessor.HttpContext?.RequestServices is { } requestServices)
                    {
                        return resolveKey(requestServices);
                    }

                    using var scope = scopes.CreateScope();
                    return resolveKey(scope.ServiceProvider);
                };
            },
            configure);
    }

    /// <summary>
    /// Calls Pitchly's legacy API with the App Secret as API key: the GraphQL variable <c>secretKey</c> is written into
    /// every JSON request body. API keys do not expire; nothing is refreshed. Server side only.
    /// </summary>
    /// <param name="builder">The HttpClient to configure.</param>
    /// <param name="configure">Configures the request buffering cap for this client; runs after the <c>Pitchly:AccessToken</c> configuration section.</param>
    /// <returns>The same builder.</returns>
    public static IHttpClientBuilder AddPitchlyApiKey(this IHttpClientBuilder builder, Action<PitchlyAccessTokenHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddPitchlyTokenManagement();
        ConfigureHandlerOptions(builder, configure);
        var name = builder.Name;
        return builder.RedactCredentialHeaders().AddHttpMessageHandler(services =>
        {
            var options = services.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(name);
            return new PitchlyApiKeyHandler(
                services.GetRequiredService<IOptionsMonitor<PitchlyTokenManagementOptions>>(),
                options,
                CreateOrigins(services, name, options));
        });
    }

    /// <summary>
    /// Calls Pitchly's current platform for the app's own organization with a self-signed token: an HS256 JWT whose
    /// <c>iss</c> is the App ID, signed with the App Secret and sent as <c>Authorization: Bearer</c>; minted again
    /// before it expires.
    /// </summary>
    /// <param name="builder">The HttpClient to configure.</param>
    /// <param name="lifetime">How long each minted token is valid (its <c>exp</c>); default 5 minutes.</param>
    /// <returns>The same builder.</returns>
    /// <remarks>
    /// The client's <see cref="PitchlyAccessTokenHandlerOptions"/> (its allowed origins and primary handler) come from the
    /// <c>Pitchly:AccessToken</c> section and <c>services.Configure&lt;PitchlyAccessTokenHandlerOptions&gt;(clientName, ...)</c>.
    /// </remarks>
    public static IHttpClientBuilder AddPitchlySelfSignedJwt(this IHttpClientBuilder builder, TimeSpan? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var validity = lifetime ?? TimeSpan.FromMinutes(5);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(validity, TimeSpan.Zero, nameof(lifetime));
        builder.Services.AddPitchlyTokenManagement();
        ConfigureHandlerOptions(builder, null);
        var name = builder.Name;
        return builder.RedactCredentialHeaders().AddHttpMessageHandler(services => new PitchlySelfSignedJwtHandler(
            services.GetRequiredService<IOptionsMonitor<PitchlyTokenManagementOptions>>(),
            services.GetRequiredService<TimeProvider>(),
            validity,
            CreateOrigins(services, name, services.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(name))));
    }

    private static IHttpClientBuilder AddPitchlyAccessTokenHandler(
        this IHttpClientBuilder builder,
        Func<IServiceProvider, Func<PitchlyTokenKey>> createKeyResolver,
        Action<PitchlyAccessTokenHandlerOptions>? configure)
    {
        builder.Services.AddPitchlyTokenManagement();
        ConfigureHandlerOptions(builder, configure);
        var name = builder.Name;
        return builder.RedactCredentialHeaders().AddHttpMessageHandler(services =>
        {
            var options = services.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(name);
            return new PitchlyAccessTokenHandler(
                services.GetRequiredService<IPitchlyTokenManager>(),
                createKeyResolver(services),
                options,
                services.GetRequiredService<PitchlyMetrics>(),
                services.GetRequiredService<RejectedTokenBreaker>(),
                services.GetRequiredService<TimeProvider>(),
                CreateOrigins(services, name, options),
                services.GetRequiredService<ILogger<PitchlyAccessTokenHandler>>());
        });
    }

    private static CredentialOrigins CreateOrigins(IServiceProvider services, string name, PitchlyAccessTokenHandlerOptions options) =>
        new(name, options, services.GetService<IHostEnvironment>(), services.GetRequiredService<ILogger<CredentialOrigins>>());

    private static void ConfigureHandlerOptions(IHttpClientBuilder builder, Action<PitchlyAccessTokenHandlerOptions>? configure)
    {
        // Pitchly:AccessToken is read first, for every client; the code configuration below comes after and wins.
        ConfigurePitchlyAccessTokenHandlerOptions.Register(builder.Services);
        var optionsBuilder = builder.Services.AddOptions<PitchlyAccessTokenHandlerOptions>(builder.Name);
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        optionsBuilder.ValidateOnStart();

        // No redirects, and a primary handler on which they can be turned off (or the client's explicit consent).
        PitchlyRedirects.Refuse(builder.Services, builder.Name, carriesCredential: true);
    }
}
