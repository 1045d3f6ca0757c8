using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Pitchly.AspNetCore.Internal.Users;

/// <summary>
/// Asks the application's <see cref="IPitchlyUserKeyAccessor"/> for the current user's key, resolved from the services
/// of the current circuit, else of the current request, else of a scope created for the one call: never from the scope
/// IHttpClientFactory keeps for a handler's lifetime, nor from the root.
/// </summary>
internal sealed class CurrentUserKey(CircuitServicesAccessor circuit, IHttpContextAccessor httpContextAccessor, IServiceScopeFactory scopes)
{
    public ValueTask<PitchlyTokenKey?> GetAsync(CancellationToken cancellationToken)
    {
        var services = circuit.Services ?? httpContextAccessor.HttpContext?.RequestServices;
        return services is not null
            ? services.GetRequiredService<IPitchlyUserKeyAccessor>().GetCurrentUserKeyAsync(cancellationToken)
            : FromOwnScopeAsync(cancellationToken);
    }

    private async ValueTask<PitchlyTokenKey?> FromOwnScopeAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IPitchlyUserKeyAccessor>().GetCurrentUserKeyAsync(cancellationToken);
    }
}
