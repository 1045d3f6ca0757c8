using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Pitchly.AspNetCore.Internal.Users;

/// <summary>
/// Asks the application's <see cref="IPitchlyUserKeyAccessor"/> for the current user's key. A singleton accessor (the
/// package's own) is asked directly, at no cost per call; a scoped or transient one is resolved per call from the
/// services of the current circuit, else of the current request, else of a scope created for the one call: never from
/// the scope IHttpClientFactory keeps for a handler's lifetime, nor from the root.
/// </summary>
internal sealed class CurrentUserKey
{
    private readonly IPitchlyUserKeyAccessor? _singleton;
    private readonly CircuitServicesAccessor _circuit;
    private readonly IHttpContextAccessor _httpContextAccessor;
    private readonly IServiceScopeFactory _scopes;

    private CurrentUserKey(IPitchlyUserKeyAccessor? singleton, CircuitServicesAccessor circuit, IHttpContextAccessor httpContextAccessor, IServiceScopeFactory scopes)
    {
        _singleton = singleton;
        _circuit = circuit;
        _httpContextAccessor = httpContextAccessor;
        _scopes = scopes;
    }

    // The registrations are read once the container is built, so an accessor the application registers after the
    // package's (the one the container hands out) decides the lifetime.
    public static CurrentUserKey Create(IServiceProvider services, IServiceCollection registrations)
    {
        var lifetime = registrations.LastOrDefault(static descriptor => descriptor.ServiceType == typeof(IPitchlyUserKeyAccessor))?.Lifetime;
        return new CurrentUserKey(
            lifetime == ServiceLifetime.Singleton ? services.GetRequiredService<IPitchlyUserKeyAccessor>() : null,
            services.GetRequiredService<CircuitServicesAccessor>(),
            services.GetRequiredService<IHttpContextAccessor>(),
            services.GetRequiredService<IServiceScopeFactory>());
    }

    public ValueTask<PitchlyTokenKey?> GetAsync(CancellationToken cancellationToken)
    {
        if (_singleton is not null)
        {
            return _singleton.GetCurrentUserKeyAsync(cancellationToken);
        }

        var services = _circuit.Services ?? _httpContextAccessor.HttpContext?.RequestServices;
        return services is not null
            ? services.GetRequiredService<IPitchlyUserKeyAccessor>().GetCurrentUserKeyAsync(cancellationToken)
            : FromOwnScopeAsync(cancellationToken);
    }

    private async ValueTask<PitchlyTokenKey?> FromOwnScopeAsync(CancellationToken cancellationToken)
    {
        await using var scope = _scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IPitchlyUserKeyAccessor>().GetCurrentUserKeyAsync(cancellationToken);
    }
}
