using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>
/// Wraps every emulator endpoint: refuses callers on other machines unless <see cref="PitchlyEmulatorOptions.AllowRemote"/>
/// is set (whatever address the server listens on: a port forward, a container or a proxy can still bring them), and
/// caps the request body at <see cref="PitchlyEmulatorOptions.MaxRequestBodySize"/> (413).
/// </summary>
internal static class EndpointGuard
{
    public static void Apply(IEndpointConventionBuilder endpoints, PitchlyEmulator emulator) =>
        endpoints.Add(builder =>
        {
            if (builder.RequestDelegate is { } inner)
            {
                builder.RequestDelegate = context => GuardAsync(context, inner, emulator);
            }
        });

    private static async Task GuardAsync(HttpContext context, RequestDelegate inner, PitchlyEmulator emulator)
    {
        var options = emulator.Options;
        if (!options.AllowRemote && !Loopback.IsCaller(context.Connection))
        {
            emulator.Logger.RequestRefused(StatusCodes.Status403Forbidden, "caller not on loopback");
            await Results.Json(
                new Dictionary<string, string>
                {
                    ["error"] = "The Pitchly emulator answers loopback callers only. Start it with "
                        + $"{PitchlyEmulatorDefaults.ConfigurationSection}:{nameof(PitchlyEmulatorOptions.AllowRemote)}=true (pitchly-emulator: --allow-remote) to serve other machines.",
                },
                statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(context);
            return;
        }

        var limit = options.MaxRequestBodySize;
        if (context.Request.ContentLength > limit)
        {
            await RequestBody.TooLarge(emulator).ExecuteAsync(context);
            return;
        }

        // Kestrel then enforces the limit on chunked bodies too, whichever way an endpoint reads them (forms included).
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize
            && context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest != true)
        {
            bodySize.MaxRequestBodySize = limit;
        }

        try
        {
            await inner(context);
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge && !context.Response.HasStarted)
        {
            await RequestBody.TooLarge(emulator).ExecuteAsync(context);
        }
    }
}
