namespace Pitchly.AspNetCore;

/// <summary>Default values of "Sign in with Pitchly".</summary>
public static class PitchlyAuthenticationDefaults
{
    /// <summary>The default authentication scheme: <c>Pitchly</c>.</summary>
    public const string AuthenticationScheme = "Pitchly";

    /// <summary>The default display name: <c>Pitchly</c>.</summary>
    public const string DisplayName = "Pitchly";

    /// <summary>The issuer of the claims the handler creates: <c>Pitchly</c>.</summary>
    public const string Issuer = "Pitchly";

    /// <summary>The default callback path: <c>/signin-pitchly</c>.</summary>
    public const string CallbackPath = "/signin-pitchly";

    /// <summary>Pitchly's authorization endpoint.</summary>
    public const string AuthorizationEndpoint = "https://platform.pitchly.com/oauth/authorize";

    /// <summary>Pitchly's token endpoint.</summary>
    public const string TokenEndpoint = "https://platform.pitchly.com/api/oauth/token";

    /// <summary>Pitchly's GraphQL endpoint, which answers the identity query after sign-in.</summary>
    public const string GraphQLEndpoint = "https://api.pitchly.com/graphql";

    /// <summary>The configuration section the options are bound from: <c>Pitchly</c>.</summary>
    public const string ConfigurationSection = "Pitchly";
}
