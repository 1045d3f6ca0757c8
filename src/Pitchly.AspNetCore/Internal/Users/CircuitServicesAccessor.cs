namespace Pitchly.AspNetCore.Internal.Users;

/// <summary>
/// The services of the Blazor circuit whose inbound activity (a UI event, a JavaScript call, the circuit's first render)
/// the current asynchronous flow serves; set by <see cref="PitchlyCircuitHandler"/>. IHttpClientFactory builds handlers
/// in a scope of their own, so this is how a handler reaches the circuit's scoped services, as Microsoft documents for
/// Blazor Server.
/// </summary>
internal sealed class CircuitServicesAccessor
{
    private readonly AsyncLocal<IServiceProvider?> _services = new();

    public IServiceProvider? Services
    {
        get => _services.Value;
        set => _services.Value = value;
    }
}
