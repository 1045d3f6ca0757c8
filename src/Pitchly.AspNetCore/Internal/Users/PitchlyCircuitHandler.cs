using Microsoft.AspNetCore.Components.Server.Circuits;

namespace Pitchly.AspNetCore.Internal.Users;

/// <summary>Makes a circuit's services ambient while the circuit handles inbound activity (scoped: one per circuit).</summary>
internal sealed class PitchlyCircuitHandler(IServiceProvider services, CircuitServicesAccessor accessor) : CircuitHandler
{
    public override Func<CircuitInboundActivityContext, Task> CreateInboundActivityHandler(Func<CircuitInboundActivityContext, Task> next) =>
        async context =>
        {
            accessor.Services = services;
            try
            {
                await next(context);
            }
            finally
            {
                accessor.Services = null;
            }
        };
}
