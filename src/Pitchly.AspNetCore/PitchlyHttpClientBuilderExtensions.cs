using System.ComponentModel;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal;
using Pitchly.AspNetCore.Internal.Http;
using Pitchly.AspNetCore.Internal.Replay;
using Pitchly.AspNetCore.Internal.Users;

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
    // Identities of the credentials that are not values (see PitchlyCredentialRegistry).
    private static readonly object UserCredential = new();
    private static readonly object RequestKeyCredential = new();
    private static readonly object ApiKeyCredential = new();
    private static readonly object SelfSignedCredential = new();

    /// <summary>
    /// Calls Pitchly as the signed-in user of the current request: attaches the user's access token, and when Pitchly
    /// rejects it, refreshes it and replays the request once. Also adds token management if it was not added.
    /// </summary>
    /// <param name="builder">The HttpClient to configure.</param>
    /// <param name="configure">Configures token placement, buffering caps and invalid-token codes for this client; runs after the <c>Pitchly:AccessToken</c> configuration section.</param>
    /// <returns>The same builder.</returns>
    /// <remarks>
    /// The user is read per call from <see cref="IPitchlyUserKeyAccessor"/>: the current request's user, or, after
    /// <c>services.AddPitchlyBlazor()</c>, the current Blazor circuit's. A call without a Pitchly user throws
    /// <see cref="PitchlySignInRequiredException"/>.
    /// </remarks>
    public static IHttpClientBuilder AddPitchlyUserAccessToken(this IHttpClientBuilder builder, Action<PitchlyAccessTokenHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        PitchlyUserKeyRegistration.Add(builder.Services);
        return builder.AddPitchlyAccessTokenHandler(
            UserCredential,
            "the signed-in user's access token (AddPitchlyUserAccessToken)",
            static services =>
            {
                var currentUser = services.GetRequiredService<CurrentUserKey>();

                // Runs on every call: a key had at once is returned without an async method's state machine.
                return (_, cancellationToken) =>
                {
                    var getting = currentUser.GetAsync(cancellationToken);
                    return getting.IsCompletedSuccessfully && getting.Result is { } key ? new ValueTask<PitchlyTokenKey>(key) : AwaitUserAsync(getting);
                };

                static async ValueTask<PitchlyTokenKey> AwaitUserAsync(ValueTask<PitchlyTokenKey?> getting) => await getting
                    ?? throw new PitchlySignInRequiredException("Calling Pitchly as the user needs a user signed in with Pitchly, and the current request or circuit has none.");
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
        var resolved = ValueTask.FromResult(key);
        return builder.AddPitchlyAccessTokenHandler(key, $"the install tokens of {key} (AddPitchlyInstallAccessToken)", _ => (_, _) => resolved, configure);
    }

    /// <summary>Obsolete: this registration takes any key, a user's too. Use <see cref="AddPitchlyAccessToken(IHttpClientBuilder, Func{IServiceProvider, PitchlyTokenKey}, Action{PitchlyAccessTokenHandlerOptions}?)"/>, which it calls.</summary>
    /// <param name="builder">The HttpClient to configure.</param>
    /// <param name="resolveKey">Returns the key whose tokens the request carries.</param>
    /// <param name="configure">Configures token placement, buffering caps and invalid-token codes for this client; runs after the <c>Pitchly:AccessToken</c> configuration section.</param>
    /// <returns>The same builder.</returns>
    [Obsolete("Resolves any key, a user's too: use AddPitchlyAccessToken(resolveKey), which this calls.")]
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static IHttpClientBuilder AddPitchlyInstallAccessToken(this IHttpClientBuilder builder, Func<IServiceProvider, PitchlyTokenKey> resolveKey, Action<PitchlyAccessTokenHandlerOptions>? configure = null)
        => builder.AddPitchlyAccessToken(resolveKey, configure);

    /// <summary>
    /// Calls Pitchly with the tokens of a key chosen per request, a user's or an install's, for example an install
    /// picked from the current tenant. <paramref name="resolveKey"/> runs for every request with the current request's services
    /// (<see cref="HttpContext.RequestServices"/>), or inside a Blazor circuit (after <c>services.AddPitchlyBlazor()</c>)
    /// the circuit's, so scoped services such as a tenant context are the request's or the circuit's own; with no request
    /// (a background service), with a scope created for that one call and disposed once the key is returned. Never with
    /// the scope IHttpClientFactory keeps for a handler's lifetime. A request that carries its own key
    /// (<see cref="PitchlyHttpRequestOptions.TokenKey"/>) is sent with that key; the resolver is not called.
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
    /// <exception cref="InvalidOperationException">The client already carries another Pitchly credential (the same resolver again adds nothing).</exception>
    public static IHttpClientBuilder AddPitchlyAccessToken(this IHttpClientBuilder builder, Func<IServiceProvider, PitchlyTokenKey> resolveKey, Action<PitchlyAccessTokenHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(resolveKey);
        return builder.AddResolvedAccessToken(resolveKey, (services, _) => ValueTask.FromResult(resolveKey(services)), configure);
    }

    /// <summary>
    /// Calls Pitchly with the tokens of a key chosen per request by an asynchronous resolver (one that reads a tenant
    /// from a database, say); otherwise as
    /// <see cref="AddPitchlyAccessToken(IHttpClientBuilder, Func{IServiceProvider, PitchlyTokenKey}, Action{PitchlyAccessTokenHandlerOptions}?)"/>,
    /// whose rules on where the key may come from apply. The scope of a call without a request is disposed once the
    /// returned task completes.
    /// </summary>
    /// <param name="builder">The HttpClient to configure.</param>
    /// <param name="resolveKey">Returns the key whose tokens the request carries; given the request's services and the request's cancellation.</param>
    /// <param name="configure">Configures token placement, buffering caps and invalid-token codes for this client; runs after the <c>Pitchly:AccessToken</c> configuration section.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="InvalidOperationException">The client already carries another Pitchly credential (the same resolver again adds nothing).</exception>
    public static IHttpClientBuilder AddPitchlyAccessToken(this IHttpClientBuilder builder, Func<IServiceProvider, CancellationToken, ValueTask<PitchlyTokenKey>> resolveKey, Action<PitchlyAccessTokenHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(resolveKey);
        return builder.AddResolvedAccessToken(resolveKey, resolveKey, configure);
    }

    /// <summary>
    /// Calls Pitchly with the tokens of the key each request carries in <see cref="PitchlyHttpRequestOptions.TokenKey"/>
    /// (<c>request.Options.Set(PitchlyHttpRequestOptions.TokenKey, key)</c>), for an app that builds its own requests
    /// and knows per call whose they are. A request without a key fails with <see cref="InvalidOperationException"/>
    /// before anything is sent.
    /// </summary>
    /// <param name="builder">The HttpClient to configure.</param>
    /// <param name="configure">Configures token placement, buffering caps and invalid-token codes for this client; runs after the <c>Pitchly:AccessToken</c> configuration section.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="InvalidOperationException">The client already carries another Pitchly credential.</exception>
    public static IHttpClientBuilder AddPitchlyAccessToken(this IHttpClientBuilder builder, Action<PitchlyAccessTokenHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var name = builder.Name;
        return builder.AddPitchlyAccessTokenHandler(
            RequestKeyCredential,
            "the key each request carries (AddPitchlyAccessToken)",
            _ => (_, _) => throw new InvalidOperationException(
                $"The HttpClient '{name}' calls Pitchly with the key each request carries, and this request carries none: set request.Options.Set(PitchlyHttpRequestOptions.TokenKey, key)."),
            configure);
    }

    private static IHttpClientBuilder AddResolvedAccessToken(
        this IHttpClientBuilder builder,
        Delegate identity,
        Func<IServiceProvider, CancellationToken, ValueTask<PitchlyTokenKey>> resolveKey,
        Action<PitchlyAccessTokenHandlerOptions>? configure)
    {
        PitchlyUserKeyRegistration.Add(builder.Services);
        return builder.AddPitchlyAccessTokenHandler(
            identity,
            "a key resolver (AddPitchlyAccessToken)",
            services =>
            {
                // services is the handler's scope, which outlives many requests: only singletons are taken from it.
                var circuit = services.GetRequiredService<CircuitServicesAccessor>();
                var accessor = services.GetRequiredService<IHttpContextAccessor>();
                var scopes = services.GetRequiredService<IServiceScopeFactory>();
                return (_, cancellationToken) => (circuit.Services ?? accessor.HttpContext?.RequestServices) is { } currentServices
                    ? resolveKey(currentServices, cancellationToken)
                    : ResolveInScopeAsync(scopes, resolveKey, cancellationToken);
            },
            configure);
    }

    private static async ValueTask<PitchlyTokenKey> ResolveInScopeAsync(
        IServiceScopeFactory scopes,
        Func<IServiceProvider, CancellationToken, ValueTask<PitchlyTokenKey>> resolveKey,
        CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await resolveKey(scope.ServiceProvider, cancellationToken);
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
        if (!PitchlyCredentialRegistry.Claim(builder.Services, builder.Name, ApiKeyCredential, "the App Secret as API key (AddPitchlyApiKey)"))
        {
            return builder;
        }

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
        if (!PitchlyCredentialRegistry.Claim(builder.Services, builder.Name, (SelfSignedCredential, validity), $"self-signed tokens valid for {validity} (AddPitchlySelfSignedJwt)"))
        {
            return builder;
        }

        var name = builder.Name;
        return builder.RedactCredentialHeaders().AddHttpMessageHandler(services => new PitchlySelfSignedJwtHandler(
            services.GetRequiredService<IOptionsMonitor<PitchlyTokenManagementOptions>>(),
            services.GetRequiredService<TimeProvider>(),
            validity,
            CreateOrigins(services, name, services.GetRequiredService<IOptionsMonitor<PitchlyAccessTokenHandlerOptions>>().Get(name))));
    }

    private static IHttpClientBuilder AddPitchlyAccessTokenHandler(
        this IHttpClientBuilder builder,
        object credential,
        string description,
        Func<IServiceProvider, Func<HttpRequestMessage, CancellationToken, ValueTask<PitchlyTokenKey>>> createKeyResolver,
        Action<PitchlyAccessTokenHandlerOptions>? configure)
    {
        builder.Services.AddPitchlyTokenManagement();
        ConfigureHandlerOptions(builder, configure);
        if (!PitchlyCredentialRegistry.Claim(builder.Services, builder.Name, credential, description))
        {
            // The same credential again: its handler is there; only the configuration above is added.
            return builder;
        }

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
