using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Pitchly.AspNetCore.Internal.Users;

/// <summary>
/// The user of the current Blazor circuit (its <see cref="AuthenticationStateProvider"/>), else of the current request.
/// Inside a circuit the request is not consulted: <see cref="IHttpContextAccessor"/> is unreliable there (over long
/// polling it is a poll's request, or none). A singleton: it keeps the last request user's key and hands it out again
/// while the user's ids are the same, so a user's HttpClient call allocates no key.
/// </summary>
internal sealed class DefaultPitchlyUserKeyAccessor(CircuitServicesAccessor circuit, IHttpContextAccessor httpContextAccessor) : IPitchlyUserKeyAccessor
{
    // Keys are immutable and compared by value, so sharing one across threads is safe; a race only costs a new key.
    private PitchlyTokenKey? _last;

    public ValueTask<PitchlyTokenKey?> GetCurrentUserKeyAsync(CancellationToken cancellationToken = default)
    {
        if (circuit.Services?.GetService<AuthenticationStateProvider>() is { } authentication)
        {
            return FromStateAsync(authentication.GetAuthenticationStateAsync());
        }

        var last = _last;
        var key = PitchlyTokenKey.FromPrincipal(httpContextAccessor.HttpContext?.User, last);

        // Written only when it changes: a write per call of the same user marked the card table and, with calls on
        // several threads, bounced the field's cache line between cores.
        if (key is not null && !ReferenceEquals(key, last))
        {
            _last = key;
        }

        return ValueTask.FromResult(key);
    }

    private static async ValueTask<PitchlyTokenKey?> FromStateAsync(Task<AuthenticationState> state) =>
        PitchlyTokenKey.FromPrincipal((await state).User);
}
