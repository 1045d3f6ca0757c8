using Microsoft.Extensions.DependencyInjection;

namespace Pitchly.AspNetCore.Internal.Configuration;

/// <summary>
/// A scheme registered by <c>AddPitchly</c>, so settings shared with sign-in (client credentials, token endpoint,
/// GraphQL endpoint) are taken from the scheme that actually signs users in, whatever its name.
/// </summary>
internal sealed record PitchlySignInScheme(string Name)
{
    public static void Register(IServiceCollection services, string name) => services.AddSingleton(new PitchlySignInScheme(name));

    /// <summary>
    /// Picks the scheme shared settings come from: the one named by <c>Pitchly:TokenManagement:AuthenticationScheme</c>
    /// when it is set, else the only one. Returns <see langword="null"/> with no <paramref name="failure"/> when the app
    /// signs no one in with Pitchly; a failure names the schemes when the choice is wrong or ambiguous.
    /// </summary>
    public static string? Resolve(IEnumerable<PitchlySignInScheme> schemes, string? configured, out string? failure)
    {
        failure = null;
        var names = schemes.Select(scheme => scheme.Name).Distinct(StringComparer.Ordinal).ToList();
        if (!string.IsNullOrEmpty(configured))
        {
            if (names.Contains(configured, StringComparer.Ordinal))
            {
                return configured;
            }

            failure = names.Count == 0
                ? $"Pitchly:TokenManagement:AuthenticationScheme names the sign-in scheme '{configured}', but no Pitchly sign-in scheme is registered (AddPitchly). Remove the setting, or set Pitchly:TokenManagement:ClientId and ClientSecret."
                : $"Pitchly:TokenManagement:AuthenticationScheme names the sign-in scheme '{configured}', which is not a Pitchly scheme; the Pitchly sign-in schemes are: {string.Join(", ", names.Select(n => $"'{n}'"))}. Name one of them, or remove the setting to use the only one.";
            return null;
        }

        switch (names.Count)
        {
            case 0:
                return null;
            case 1:
                return names[0];
            default:
                failure = $"Several Pitchly sign-in schemes are registered ({string.Join(", ", names.Select(n => $"'{n}'"))}): set Pitchly:TokenManagement:AuthenticationScheme to the one whose App ID and App Secret refresh the users' tokens.";
                return null;
        }
    }
}
