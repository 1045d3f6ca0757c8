using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>The emulator-only <c>/_emulator/…</c> endpoints that tests and load harnesses in other processes drive.</summary>
internal static class AdminEndpoints
{
    private const string PathPrefix = "/_emulator";

    public static void Map(IEndpointRouteBuilder endpoints, PitchlyEmulator emulator)
    {
        // They change what every client of the emulator sees and mint tokens: callers on other machines are refused
        // unless the emulator was started with AllowRemoteAdmin.
        var admin = endpoints.MapGroup(PathPrefix);
        admin.AddEndpointFilter((context, next) =>
            emulator.Options.AllowRemoteAdmin || IsLocal(context.HttpContext.Connection)
                ? next(context)
                : ValueTask.FromResult<object?>(Results.Json(
                    new Dictionary<string, string>
                    {
                        ["error"] = "The emulator's /_emulator endpoints answer loopback callers only. Start the emulator with Pitchly:Emulator:AllowRemoteAdmin=true to open them to other machines.",
                    },
                    statusCode: StatusCodes.Status403Forbidden)));

        admin.MapGet("/stats", () => Results.Json(emulator.GetStats()));

        admin.MapPost("/stats/reset", () =>
        {
            emulator.ResetStats();
            return Results.NoContent();
        });

        admin.MapGet("/settings", () => Results.Json(EmulatorSettings.From(emulator.Options), EmulatorSettings.SerializerOptions));

        admin.MapPost("/settings", async (HttpContext context) =>
        {
            EmulatorSettings? settings;
            try
            {
                settings = await JsonSerializer.DeserializeAsync<EmulatorSettings>(context.Request.Body, EmulatorSettings.SerializerOptions, context.RequestAborted);
            }
            catch (JsonException exception)
            {
                return Problem($"The settings are not valid JSON for the emulator's knobs: {exception.Message}");
            }

            if (settings is null)
            {
                return Problem("Post a JSON object of the knobs to change, e.g. {\"accessTokenLifetime\":\"00:00:05\"}.");
            }

            try
            {
                emulator.Configure(settings.ApplyTo);
            }
            catch (OptionsValidationException exception)
            {
                return Problem(exception.Message);
            }

            return Results.Json(EmulatorSettings.From(emulator.Options), EmulatorSettings.SerializerOptions);
        });

        admin.MapPost("/invalidate", (HttpContext context) =>
        {
            var personId = context.Request.Query["person_id"].ToString();
            var count = emulator.InvalidateAccessTokens(personId.Length == 0 ? null : personId);
            return Results.Json(new Dictionary<string, int> { ["invalidated"] = count });
        });

        admin.MapPost("/app-sdk-token", (HttpContext context) =>
        {
            var organizationId = context.Request.Query["organization_id"].ToString();
            TimeSpan? lifetime = null;
            if (context.Request.Query.TryGetValue("lifetime", out var lifetimeText))
            {
                if (!TimeSpan.TryParse(lifetimeText, CultureInfo.InvariantCulture, out var parsed) || parsed <= TimeSpan.Zero)
                {
                    return Problem("lifetime must be a positive duration such as 00:30:00.");
                }

                lifetime = parsed;
            }

            if (!emulator.Organizations.ContainsKey(organizationId))
            {
                return Problem("organization_id must name one of the emulator's organizations.");
            }

            var clientId = context.Request.Query["client_id"].ToString();
            if (clientId.Length > 0 && emulator.FindClient(clientId) is null)
            {
                return Problem("client_id must name one of the emulator's registered apps (or be left out for the first one).");
            }

            var issued = emulator.IssueAppSdkTokenCore(organizationId, lifetime, clientId.Length == 0 ? null : clientId);
            var expiresAt = emulator.TimeProvider.GetUtcNow() + issued.Lifetime;

            // The App SDK's onConnect shape, plus the same values under OAuth-style names.
            return Results.Json(new Dictionary<string, object>
            {
                ["accessToken"] = issued.AccessToken,
                ["accessTokenExpiresAt"] = expiresAt,
                ["organizationId"] = organizationId,
                ["access_token"] = issued.AccessToken,
                ["expires_at"] = expiresAt,
                ["organization_id"] = organizationId,
            });
        });

        admin.MapGet("/graphql-requests", () => Results.Json(emulator.GraphQLRequests, EmulatorSettings.SerializerOptions));

        admin.MapGet("/users", () => Results.Json(emulator.Users));
    }

    // No remote address means an in-process transport (TestServer) or a Unix socket: local by construction.
    private static bool IsLocal(ConnectionInfo connection) =>
        connection.RemoteIpAddress is not { } remote || IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);

    private static IResult Problem(string detail) => Results.Json(new Dictionary<string, string> { ["error"] = detail }, statusCode: StatusCodes.Status400BadRequest);
}
