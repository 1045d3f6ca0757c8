using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>The emulator-only <c>/_emulator/…</c> endpoints that tests and load harnesses in other processes drive.</summary>
internal static class AdminEndpoints
{
    private const string PathPrefix = "/_emulator";

    public static void Map(IEndpointRouteBuilder endpoints, PitchlyEmulator emulator)
    {
        // They change what every client of the emulator sees, mint tokens and write any organization's data: callers on
        // other machines are refused unless the emulator was started with AllowRemoteAdmin, and so are pages in the
        // developer's own browser (see Refusal).
        var admin = endpoints.MapGroup(PathPrefix);
        admin.AddEndpointFilter(async (context, next) =>
            Refusal(context.HttpContext, emulator) is { } refusal ? refusal : await next(context));

        admin.MapGet("/stats", () => Results.Json(emulator.GetStats()));

        admin.MapPost("/stats/reset", () =>
        {
            emulator.ResetStats();
            return Results.NoContent();
        });

        admin.MapGet("/settings", () => Results.Json(EmulatorSettings.From(emulator.Options), EmulatorSettings.SerializerOptions));

        admin.MapPost("/settings", async (HttpContext context) =>
        {
            var (body, tooLarge) = await ReadBodyAsync(context, emulator);
            if (tooLarge is not null)
            {
                return tooLarge;
            }

            EmulatorSettings? settings;
            try
            {
                settings = body.Length == 0 ? null : JsonSerializer.Deserialize<EmulatorSettings>(body.Span, EmulatorSettings.SerializerOptions);
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

        EventEndpoints.Map(admin, emulator);
    }

    /// <summary>
    /// Why an admin request is refused, or <see langword="null"/>. A caller on another machine: 403 unless AllowRemoteAdmin.
    /// A page in the developer's browser can reach loopback too, so: a <c>Host</c> that is not a loopback name is refused
    /// (403: a DNS-rebinding page sends its own domain), so is an <c>Origin</c> that is present and not loopback (403: a
    /// cross-site page), and a body must be <c>application/json</c> (415), which a page can only send after a CORS preflight
    /// the emulator never grants.
    /// </summary>
    internal static IResult? Refusal(HttpContext context, PitchlyEmulator emulator)
    {
        var options = emulator.Options;
        var request = context.Request;
        if (!options.AllowRemoteAdmin && !Loopback.IsCaller(context.Connection))
        {
            return Refuse(
                emulator,
                StatusCodes.Status403Forbidden,
                "The emulator's /_emulator endpoints answer loopback callers only. Start the emulator with Pitchly:Emulator:AllowRemoteAdmin=true (and AllowRemote) to open them to other machines.");
        }

        if (!options.AllowRemoteAdmin && request.Host.HasValue && !Loopback.IsHost(request.Host.Host))
        {
            return Refuse(
                emulator,
                StatusCodes.Status403Forbidden,
                "The emulator's /_emulator endpoints answer requests addressed to localhost, 127.0.0.1 or [::1] only (the Host header).");
        }

        if (request.Headers.Origin is { Count: > 0 } origin && !Loopback.IsOrigin(origin.ToString()))
        {
            return Refuse(emulator, StatusCodes.Status403Forbidden, "The emulator's /_emulator endpoints refuse requests from web pages of other origins.");
        }

        // A body without a length: chunked (HTTP/1.1), or a stream that does not end with the headers (HTTP/2, HTTP/3).
        var hasBody = request.ContentLength > 0
            || (request.ContentLength is null
                && (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.Headers.TransferEncoding.Count > 0));
        if ((hasBody || request.ContentType is not null) && !IsJson(request.ContentType))
        {
            return Refuse(emulator, StatusCodes.Status415UnsupportedMediaType, "The emulator's /_emulator endpoints take JSON bodies only (Content-Type: application/json).");
        }

        return null;
    }

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
        && string.Equals(mediaType.MediaType, "application/json", StringComparison.OrdinalIgnoreCase);

    private static IResult Refuse(PitchlyEmulator emulator, int statusCode, string message)
    {
        emulator.Logger.RequestRefused(statusCode, message);
        return Results.Json(new Dictionary<string, string> { ["error"] = message }, statusCode: statusCode);
    }

    /// <summary>Reads a JSON admin body within <see cref="PitchlyEmulatorOptions.MaxRequestBodySize"/>; 413 past it.</summary>
    internal static async Task<(ReadOnlyMemory<byte> Body, IResult? Refusal)> ReadBodyAsync(HttpContext context, PitchlyEmulator emulator)
    {
        var body = await RequestBody.ReadAsync(context, emulator.Options.MaxRequestBodySize);
        return body is null ? (default, RequestBody.TooLarge(emulator)) : (body.Value, null);
    }

    private static IResult Problem(string detail) => Results.Json(new Dictionary<string, string> { ["error"] = detail }, statusCode: StatusCodes.Status400BadRequest);
}
