using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>The emulator-only <c>/_emulator/…</c> endpoints that tests and load harnesses in other processes drive.</summary>
internal static class AdminEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints, PitchlyEmulator emulator)
    {
        endpoints.MapGet("/_emulator/stats", () => Results.Json(emulator.GetStats()));

        endpoints.MapPost("/_emulator/stats/reset", () =>
        {
            emulator.ResetStats();
            return Results.NoContent();
        });

        endpoints.MapGet("/_emulator/settings", () => Results.Json(EmulatorSettings.From(emulator.Options), EmulatorSettings.SerializerOptions));

        endpoints.MapPost("/_emulator/settings", async (HttpContext context) =>
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

        endpoints.MapPost("/_emulator/invalidate", (HttpContext context) =>
        {
            var personId = context.Request.Query["person_id"].ToString();
            var count = emulator.InvalidateAccessTokens(personId.Length == 0 ? null : personId);
            return Results.Json(new Dictionary<string, int> { ["invalidated"] = count });
        });

        endpoints.MapPost("/_emulator/app-sdk-token", (HttpContext context) =>
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

            var issued = emulator.IssueAppSdkTokenCore(organizationId, lifetime);
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

        endpoints.MapGet("/_emulator/graphql-requests", () => Results.Json(emulator.GraphQLRequests, EmulatorSettings.SerializerOptions));

        endpoints.MapGet("/_emulator/users", () => Results.Json(emulator.Users));
    }

    private static IResult Problem(string detail) => Results.Json(new Dictionary<string, string> { ["error"] = detail }, statusCode: StatusCodes.Status400BadRequest);
}
