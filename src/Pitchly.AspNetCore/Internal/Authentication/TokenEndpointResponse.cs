using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OAuth;

namespace Pitchly.AspNetCore.Internal.Authentication;

/// <summary>
/// Interprets the answer of Pitchly's token endpoint to a grant made at sign-in (the authorization-code exchange, and
/// the one refresh after an identity query that refused the brand-new access token). Pitchly's own clients look
/// at the <c>error</c> member rather than the status, so an <c>error</c> fails the exchange whatever the status.
/// </summary>
internal static class TokenEndpointResponse
{
    public const string Endpoint = "Pitchly's token endpoint";

    // Token responses are a few hundred bytes; anything near this is not a token response.
    public const int MaxBytes = 64 * 1024;

    /// <summary>Returns a successful response that owns <paramref name="document"/>, or a failure (and disposes it).</summary>
    public static OAuthTokenResponse Interpret(JsonDocument document, HttpStatusCode statusCode, string grant = "the authorization code")
    {
        var failure = FindProblem(document.RootElement, (int)statusCode, grant);
        if (failure is null)
        {
            return OAuthTokenResponse.Success(document);
        }

        document.Dispose();
        return OAuthTokenResponse.Failed(new AuthenticationFailureException(failure));
    }

    private static string? FindProblem(JsonElement root, int status, string grant)
    {
        if (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
        {
            var code = OAuthErrorCode.Read(error);
            return $"{Endpoint} refused {grant} with error '{code}' (status {status}). {Advice(code)}";
        }

        if (status is < 200 or > 299)
        {
            return $"{Endpoint} answered status {status} with JSON that carries no OAuth error.";
        }

        if (!root.TryGetProperty("access_token", out var accessToken)
            || accessToken.ValueKind != JsonValueKind.String
            || string.IsNullOrEmpty(accessToken.GetString()))
        {
            return $"{Endpoint} answered without an access_token (status {status}).";
        }

        return null;
    }

    private static string Advice(string? code) => code switch
    {
        "invalid_grant" => "The code is invalid, expired or already used: sign in again.",
        "invalid_client" => "Pitchly did not accept the client credentials: check Pitchly:ClientId (the App ID) and Pitchly:ClientSecret (the App Secret).",
        "invalid_request" => "Check that Pitchly:CallbackPath matches a redirect URI registered for the app.",
        _ => "See Pitchly's OAuth documentation for this error.",
    };
}
