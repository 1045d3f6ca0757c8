using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using Pitchly.AspNetCore.Emulator.Internal.Tokens;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>
/// <c>GET /oauth/authorize</c> renders the consent page (or approves at once with AutoApprove);
/// <c>POST /oauth/authorize</c> takes the consent page's decision. Errors that cannot be trusted to a redirect
/// (unknown client, unregistered redirect URI) render an HTML error page, as RFC 6749 §4.1.2.1 requires.
/// </summary>
internal sealed class AuthorizeEndpoint(PitchlyEmulator emulator)
{
    private static readonly TimeSpan ConsentFormLifetime = TimeSpan.FromMinutes(15);
    private static readonly string[] SignedParameters = ["response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"];

    public Task HandleGetAsync(HttpContext context)
    {
        var parameters = context.Request.Query;
        var validation = Validate(parameters);
        if (validation.Failure is not null)
        {
            return validation.Failure(context);
        }

        var request = validation.Request!;
        if (!emulator.Options.AutoApprove)
        {
            return ConsentPage.WriteAsync(context, request.Client, emulator.Users, parameters, SignedParameters, Sign(parameters, emulator.TimeProvider.GetUtcNow() + ConsentFormLifetime));
        }

        var personId = Single(parameters["person_id"]);
        var user = personId is null ? emulator.Users[0] : emulator.FindUser(personId);
        if (user is null)
        {
            return ErrorPage(context, StatusCodes.Status400BadRequest, "The person_id names no person the emulator knows.");
        }

        return Approve(context, request, user);
    }

    public async Task HandlePostAsync(HttpContext context)
    {
        if (!context.Request.HasFormContentType)
        {
            await ErrorPage(context, StatusCodes.Status400BadRequest, "The consent form must be posted as application/x-www-form-urlencoded.");
            return;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (!SignatureIsValid(form))
        {
            await ErrorPage(context, StatusCodes.Status400BadRequest, "The consent form is not the emulator's own or has expired. Start the sign-in again.");
            return;
        }

        var validation = Validate(form);
        if (validation.Failure is not null)
        {
            await validation.Failure(context);
            return;
        }

        var request = validation.Request!;
        switch (Single(form["decision"]))
        {
            case "approve":
                var personId = Single(form["person_id"]);
                var user = personId is null ? null : emulator.FindUser(personId);
                if (user is null)
                {
                    await ErrorPage(context, StatusCodes.Status400BadRequest, "Choose a person to sign in as.");
                    return;
                }

                await Approve(context, request, user);
                return;
            case "deny":
                Interlocked.Increment(ref emulator.Counters.AuthorizationRequests);
                emulator.Logger.AuthorizationDenied(request.Client.ClientId);
                context.Response.Redirect(ErrorRedirect(request.RedirectUri, "access_denied", "The user denied the request.", request.State));
                return;
            default:
                await ErrorPage(context, StatusCodes.Status400BadRequest, "The decision must be approve or deny.");
                return;
        }
    }

    private Task Approve(HttpContext context, AuthorizeRequest request, PitchlyEmulatorUser user)
    {
        var subject = new TokenSubject(PitchlyEmulatorCredentialKind.UserAccessToken, request.Client.ClientId, user.OrganizationId, user.PersonId);
        var family = emulator.Tokens.CreateFamily(subject, PitchlyEmulatorDefaults.Scope);
        var code = emulator.Tokens.CreateCode(new AuthorizationCodeEntry(
            family,
            request.RedirectUri,
            request.RedirectUriWasGiven,
            request.CodeChallenge,
            request.CodeChallengeMethod,
            emulator.TimeProvider.GetUtcNow() + emulator.Options.AuthorizationCodeLifetime));

        Interlocked.Increment(ref emulator.Counters.AuthorizationRequests);
        emulator.Logger.AuthorizationApproved(user.PersonId, user.OrganizationId, request.Client.ClientId);
        var query = new Dictionary<string, string?> { ["code"] = code };
        if (request.State is not null)
        {
            query["state"] = request.State;
        }

        context.Response.Redirect(QueryHelpers.AddQueryString(request.RedirectUri, query));
        return Task.CompletedTask;
    }

    private Validation Validate(IEnumerable<KeyValuePair<string, StringValues>> source)
    {
        var parameters = source.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        string? Get(string name) => parameters.TryGetValue(name, out var values) && values.Count == 1 && values[0]!.Length > 0 ? values[0] : null;

        var client = emulator.FindClient(Get("client_id"));
        if (client is null)
        {
            var message = Get("client_id") switch
            {
                null => "The client_id parameter is required.",
                var id when emulator.FindClientBySecret(id) is not null => "The client_id is an App Secret: send the App ID instead (and never put the secret in a URL).",
                _ => "The client_id names no app registered with the emulator.",
            };
            return Validation.Fail(context => ErrorPage(context, StatusCodes.Status400BadRequest, message));
        }

        var redirectUri = Get("redirect_uri");
        var redirectUriWasGiven = redirectUri is not null;
        if (redirectUri is null)
        {
            redirectUri = client.RedirectUris.FirstOrDefault();
            if (redirectUri is null)
            {
                return Validation.Fail(context => ErrorPage(context, StatusCodes.Status400BadRequest, "The redirect_uri parameter is required: this app has no registered redirect URI to fall back on."));
            }
        }
        else if (!client.RedirectUris.Contains(redirectUri, StringComparer.Ordinal) && !(client.AllowAnyLoopbackRedirectUri && IsLoopback(redirectUri)))
        {
            return Validation.Fail(context => ErrorPage(context, StatusCodes.Status400BadRequest, "The redirect_uri is not registered for this app; it must match a registered URI exactly."));
        }

        var state = Get("state");
        Validation Redirect(string error, string description)
        {
            emulator.Logger.AuthorizationRejected(description);
            return Validation.Fail(context =>
            {
                context.Response.Redirect(ErrorRedirect(redirectUri, error, description, state));
                return Task.CompletedTask;
            });
        }

        switch (Get("response_type"))
        {
            case null:
                return Redirect("invalid_request", "The response_type parameter is required.");
            case not "code":
                return Redirect("unsupported_response_type", "The response_type must be code.");
        }

        var challenge = Get("code_challenge");
        var method = Get("code_challenge_method");
        if (challenge is null)
        {
            if (method is not null)
            {
                return Redirect("invalid_request", "code_challenge_method was given without a code_challenge.");
            }
        }
        else
        {
            // Pitchly's own Meteor client sends a challenge without a method: RFC 7636 makes that plain.
            method ??= Pkce.Plain;
            if (method is not (Pkce.S256 or Pkce.Plain))
            {
                return Redirect("invalid_request", "The code_challenge_method must be S256 or plain.");
            }

            if (!Pkce.IsWellFormed(challenge))
            {
                return Redirect("invalid_request", "The code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' or '~'.");
            }
        }

        return new Validation(new AuthorizeRequest(client, redirectUri, redirectUriWasGiven, state, challenge, challenge is null ? null : method), null);
    }

    private static bool IsLoopback(string redirectUri) =>
        Uri.TryCreate(redirectUri, UriKind.Absolute, out var uri)
        && uri.Scheme == Uri.UriSchemeHttp
        && uri.IsLoopback
        && string.IsNullOrEmpty(uri.UserInfo)
        && string.IsNullOrEmpty(uri.Fragment);

    private static string ErrorRedirect(string redirectUri, string error, string description, string? state)
    {
        var query = new Dictionary<string, string?> { ["error"] = error, ["error_description"] = description };
        if (state is not null)
        {
            query["state"] = state;
        }

        return QueryHelpers.AddQueryString(redirectUri, query);
    }

    /// <summary>Signs the authorization parameters and an expiry, so that the consent form cannot be forged or altered.</summary>
    private string Sign(IEnumerable<KeyValuePair<string, StringValues>> parameters, DateTimeOffset expiresAt)
    {
        var expiry = expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return expiry + "." + Base64Url.EncodeToString(Mac(parameters, expiry));
    }

    private bool SignatureIsValid(IFormCollection form)
    {
        var signature = Single(form["request_signature"]);
        var dot = signature?.IndexOf('.', StringComparison.Ordinal) ?? -1;
        if (dot <= 0
            || !long.TryParse(signature.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var expiry)
            || emulator.TimeProvider.GetUtcNow().ToUnixTimeSeconds() >= expiry)
        {
            return false;
        }

        byte[] presented;
        try
        {
            presented = Base64Url.DecodeFromChars(signature.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Mac(form, signature![..dot]), presented);
    }

    private byte[] Mac(IEnumerable<KeyValuePair<string, StringValues>> parameters, string expiry)
    {
        var values = parameters.ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);
        var text = new StringBuilder(expiry);
        foreach (var name in SignedParameters)
        {
            text.Append('\n').Append(name).Append('=').Append(values.GetValueOrDefault(name) ?? string.Empty);
        }

        return HMACSHA256.HashData(emulator.FormKey, Encoding.UTF8.GetBytes(text.ToString()));
    }

    private Task ErrorPage(HttpContext context, int statusCode, string message)
    {
        emulator.Logger.AuthorizationRejected(message);
        return ConsentPage.WriteErrorAsync(context, statusCode, message);
    }

    private static string? Single(StringValues values) => values.Count == 1 ? values[0] : null;

    private sealed record AuthorizeRequest(
        PitchlyEmulatorClient Client,
        string RedirectUri,
        bool RedirectUriWasGiven,
        string? State,
        string? CodeChallenge,
        string? CodeChallengeMethod);

    private sealed record Validation(AuthorizeRequest? Request, Func<HttpContext, Task>? Failure)
    {
        public static Validation Fail(Func<HttpContext, Task> failure) => new(null, failure);
    }
}
