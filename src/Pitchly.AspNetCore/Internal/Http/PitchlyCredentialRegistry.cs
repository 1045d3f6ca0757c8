using Microsoft.Extensions.DependencyInjection;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Which Pitchly credential each named client carries, so a registration repeated with the same credential adds nothing
/// (the README and an app's own setup may both call it) and one with another credential fails at once, naming both,
/// instead of stacking a second credential handler on the client.
/// </summary>
internal sealed class PitchlyCredentialRegistry
{
    // Filled at registration only: one entry per named HttpClient the app configures, never per user or request.
    private readonly Dictionary<string, (object Identity, string Description)> _clients = new(StringComparer.Ordinal);

    /// <summary>
    /// Records that <paramref name="clientName"/> carries the credential <paramref name="identity"/> (compared with
    /// <see cref="object.Equals(object?)"/>: equal values, or the same delegate). Returns <see langword="false"/> when it
    /// already does, so the handler must not be added again.
    /// </summary>
    /// <exception cref="InvalidOperationException">The client already carries another Pitchly credential.</exception>
    public static bool Claim(IServiceCollection services, string clientName, object identity, string description)
    {
        var registry = Get(services);
        lock (registry._clients)
        {
            if (!registry._clients.TryGetValue(clientName, out var existing))
            {
                registry._clients.Add(clientName, (identity, description));
                return true;
            }

            if (existing.Identity.Equals(identity))
            {
                return false;
            }

            throw new InvalidOperationException(
                $"The HttpClient '{clientName}' already calls Pitchly with {existing.Description}; it cannot also call with {description}. " +
                "Register a second client for the second credential, for example services.AddPitchlyGraphQLClient(\"install\", http => http.AddPitchlyInstallAccessToken(organizationId)), " +
                "or pass a key per call (IPitchlyGraphQLClient.SendAsync(key, ...), PitchlyHttpRequestOptions.TokenKey) through a client with AddPitchlyAccessToken.");
        }
    }

    private static PitchlyCredentialRegistry Get(IServiceCollection services)
    {
        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == typeof(PitchlyCredentialRegistry) && !descriptor.IsKeyedService && descriptor.ImplementationInstance is PitchlyCredentialRegistry existing)
            {
                return existing;
            }
        }

        var registry = new PitchlyCredentialRegistry();
        services.AddSingleton(registry);
        return registry;
    }
}
