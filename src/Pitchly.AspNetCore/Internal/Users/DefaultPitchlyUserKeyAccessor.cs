using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Pitchly.AspNetCore.Internal.Users;

/// <summary>
/// The user of the current Blazor circuit (its <see cref="AuthenticationStateProvider"/>), else of the current request.
/// Inside a circuit the request is not consulted: <see cref="IHttpContextAccessor"/> is unreliable there (over long
/// polling it is a poll's request, or none).
/// </summary>
internal sealed class DefaultPitchlyUserKeyAccessor(CircuitServicesAccessor circuit, IHttpContextAccessor httpContextAccessor) : IPitchlyUserKeyAccessor
{
    public ValueTask<PitchlyTokenKey?> GetCurrentUserKeyAsync(CancellationToken cancellationToken = default)
    {
        if (circuit.Services?.GetService<AuthenticationStateProvider>() is { } authentication)
        {
            return FromStateAsync(authentication.GetAuthenticationStateAsync());
        }

        return ValueTask.FromResult(PitchlyTokenKey.FromPrincipal(httpContextAccessor.HttpContext?.User));
    }

    private static async ValueTask<PitchlyTokenKey?> FromStateAsync(Task<AuthenticationState> state) =>
        PitchlyTokenKey.FromPrincipal((await state).User);
}
