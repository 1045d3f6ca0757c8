using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Pitchly.AspNetCore;
using Pitchly.AspNetCore.Internal.Authentication;
using Pitchly.AspNetCore.Internal.Configuration;
using Pitchly.AspNetCore.Internal.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds "Sign in with Pitchly" to an <see cref="AuthenticationBuilder"/>.</summary>
public static class PitchlyAuthenticationExtensions
{
    /// <summary>
    /// Adds "Sign in with Pitchly" under the <see cref="PitchlyAuthenticationDefaults.AuthenticationScheme"/> scheme,
    /// configured from the <c>Pitchly</c> configuration section.
    /// </summary>
    /// <param name="builder">The authentication builder.</param>
    /// <returns>The authentication builder, for chaining.</returns>
    public static AuthenticationBuilder AddPitchly(this AuthenticationBuilder builder)
        => builder.AddPitchly(PitchlyAuthenticationDefaults.AuthenticationScheme, static _ => { });

    /// <summary>
    /// Adds "Sign in with Pitchly" under the <see cref="PitchlyAuthenticationDefaults.AuthenticationScheme"/> scheme.
    /// </summary>
    /// <param name="builder">The authentication builder.</param>
    /// <param name="configureOptions">Configures the options after they are bound from the <c>Pitchly</c> configuration section.</param>
    /// <returns>The authentication builder, for chaining.</returns>
    public static AuthenticationBuilder AddPitchly(this AuthenticationBuilder builder, Action<PitchlyAuthenticationOptions> configureOptions)
        => builder.AddPitchly(PitchlyAuthenticationDefaults.AuthenticationScheme, configureOptions);

    /// <summary>Adds "Sign in with Pitchly" under <paramref name="authenticationScheme"/>.</summary>
    /// <param name="builder">The authentication builder.</param>
    /// <param name="authenticationScheme">The scheme's name.</param>
    /// <param name="configureOptions">Configures the options after they are bound from the <c>Pitchly</c> configuration section.</param>
    /// <returns>The authentication builder, for chaining.</returns>
    public static AuthenticationBuilder AddPitchly(this AuthenticationBuilder builder, string authenticationScheme, Action<PitchlyAuthenticationOptions> configureOptions)
        => builder.AddPitchly(authenticationScheme, PitchlyAuthenticationDefaults.DisplayName, configureOptions);

    /// <summary>
    /// Adds "Sign in with Pitchly" under <paramref name="authenticationScheme"/>, with Pitchly token management
    /// (<see cref="PitchlyTokenManagementServiceCollectionExtensions.AddPitchlyTokenManagement(IServiceCollection)"/>), whose client
    /// credentials default to this scheme's. The options are bound from the <c>Pitchly</c> configuration section
    /// (<c>Pitchly:ClientId</c>, <c>Pitchly:ClientSecret</c>, <c>Pitchly:AuthorizationEndpoint</c>,
    /// <c>Pitchly:TokenEndpoint</c>, <c>Pitchly:GraphQLEndpoint</c>, ...), then <paramref name="configureOptions"/>
    /// runs, and the result is validated when the app starts.
    /// </summary>
    /// <param name="builder">The authentication builder.</param>
    /// <param name="authenticationScheme">The scheme's name.</param>
    /// <param name="displayName">The name shown on sign-in buttons.</param>
    /// <param name="configureOptions">Configures the options after they are bound from configuration.</param>
    /// <returns>The authentication builder, for chaining.</returns>
    public static AuthenticationBuilder AddPitchly(
        this AuthenticationBuilder builder,
        string authenticationScheme,
        string? displayName,
        Action<PitchlyAuthenticationOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(authenticationScheme);
        ArgumentNullException.ThrowIfNull(configureOptions);

        var services = builder.Services;
        services.AddPitchlyTokenManagement();

        // Registered before AddOAuth registers configureOptions, so code configuration wins over configuration.
        services.AddSingleton<IConfigureOptions<PitchlyAuthenticationOptions>>(provider =>
            new PitchlyAuthenticationConfigurationBinder(authenticationScheme, provider.GetService<IConfiguration>()));
        services.AddSingleton<IValidateOptions<PitchlyAuthenticationOptions>>(provider =>
            new PitchlyAuthenticationOptionsValidator(authenticationScheme, provider.GetService<IHostEnvironment>()));
        services.AddOptions<PitchlyAuthenticationOptions>(authenticationScheme).ValidateOnStart();

        // The identity query recognises a rejected token by the codes every client's handler reads (Pitchly:AccessToken),
        // through the default-named handler options.
        ConfigurePitchlyAccessTokenHandlerOptions.Register(services);
        services.AddOptions<PitchlyAccessTokenHandlerOptions>().ValidateOnStart();

        // Registered before AddOAuth's post-configuration, which builds the backchannel from BackchannelHttpHandler.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<PitchlyAuthenticationOptions>, RefuseBackchannelRedirects>());

        // Each sign-in is a session (PitchlyClaimTypes.SessionId): a cookie whose session ended is rejected, whatever
        // cookie scheme holds it.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<CookieAuthenticationOptions>, ValidateSessionCookies>());

        // Token management takes its client credentials from the scheme that signs users in (TakeCredentialsFromSignIn).
        PitchlySignInScheme.Register(services, authenticationScheme);

        // AddOAuth's displayName is annotated non-null, yet it goes to AddRemoteScheme, where null hides the scheme from sign-in pages.
        return builder.AddOAuth<PitchlyAuthenticationOptions, PitchlyAuthenticationHandler>(authenticationScheme, displayName!, configureOptions);
    }
}
