using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Turns a <see cref="PitchlySignInRequiredException"/> escaping a request into what its caller can act on: a sign-in
/// challenge for a page navigation, a 401 problem for an API or script call, a 503 problem when an install's tokens
/// are gone (nobody can fix that by signing in), a 403 problem when an install's organization is not registered for
/// <c>client_credentials</c>.
/// </summary>
internal sealed partial class PitchlySignInRequiredChallengeMiddleware
{
    private readonly RequestDelegate _next;
    private readonly string? _authenticationScheme;
    private readonly ILogger _logger;

    public PitchlySignInRequiredChallengeMiddleware(RequestDelegate next, string authenticationScheme, ILogger<PitchlySignInRequiredChallengeMiddleware> logger)
    {
        _next = next;
        // Empty means the default challenge scheme (middleware arguments cannot be null).
        _authenticationScheme = string.IsNullOrEmpty(authenticationScheme) ? null : authenticationScheme;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await _next(context);
        }
        catch (PitchlySignInRequiredException exception) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            if (exception.Key is { Kind: not PitchlyTokenKind.User } key)
            {
                // The app's own authorization for an install is gone: an operator must reconnect it.
                LogInstallUnavailable(_logger, key);
                await WriteProblemAsync(context, exception, StatusCodes.Status503ServiceUnavailable,
                    "Pitchly authorization unavailable",
                    "The app's Pitchly authorization for this install is missing or was refused; the install must be reconnected.");
            }
            else if (IsPageNavigation(context.Request))
            {
                LogChallenging(_logger, exception.Key);
                await context.ChallengeAsync(_authenticationScheme, new AuthenticationProperties { RedirectUri = ReturnUrl(context) });
            }
            else
            {
                LogUnauthorized(_logger, exception.Key);
                context.Response.Headers.WWWAuthenticate = await SchemeNameAsync(context) + " error=\"sign_in_required\"";
                await WriteProblemAsync(context, exception, StatusCodes.Status401Unauthorized,
                    "Sign-in required",
                    "The user's Pitchly session has ended; the user must sign in with Pitchly again.");
            }
        }
        catch (PitchlyOrganizationNotRegisteredException exception) when (!context.Response.HasStarted)
        {
            // The app refuses, by its own configuration, to get tokens for this organization: neither signing in nor
            // retrying helps, and nothing was sent to Pitchly.
            context.Response.Clear();
            LogOrganizationNotRegistered(_logger, exception.Key);
            await WriteProblemAsync(context, exception, StatusCodes.Status403Forbidden,
                "Organization not registered",
                "This app is not set up to call Pitchly for that organization's install.");
        }
        catch (PitchlyTokenRejectedException exception) when (!context.Response.HasStarted)
        {
            // Refreshing is paused for this key because every fresh token was rejected: signing in again would not
            // help, so nobody is redirected; the call may be retried once the cause is fixed.
            context.Response.Clear();
            LogTokensRejected(_logger, exception.Key);
            if (exception.RetryAfter is { } retryAfter)
            {
                var seconds = Math.Max(1, (int)Math.Ceiling((retryAfter - DateTimeOffset.UtcNow).TotalSeconds));
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            await WriteProblemAsync(context, exception, StatusCodes.Status503ServiceUnavailable,
                "Pitchly keeps rejecting fresh tokens",
                "Pitchly, or something between this app and Pitchly, rejected every freshly issued access token; refreshing is paused for a while. Retry later.");
        }
    }

    /// <summary>
    /// Where the sign-in returns to: this page, when <see cref="PitchlyReturnUrl.IsLocal"/> says it is local; the app's
    /// root otherwise.
    /// </summary>
    private static string ReturnUrl(HttpContext context)
    {
        var original = context.Features.Get<IAuthenticationFeature>();
        return PitchlyReturnUrl.ThisPageOrRoot(
            original?.OriginalPathBase ?? context.Request.PathBase,
            original?.OriginalPath ?? context.Request.Path,
            context.Request.QueryString);
    }

    /// <summary>
    /// A browser loading a page: GET or HEAD that accepts HTML and, when the browser says so, is a navigation. fetch and
    /// XHR calls (even those accepting HTML), and clients asking for JSON, are not: a redirect to Pitchly's sign-in page
    /// would be followed silently and fail on its cross-origin answer.
    /// </summary>
    private static bool IsPageNavigation(HttpRequest request)
    {
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return false;
        }

        var fetchMode = request.Headers["Sec-Fetch-Mode"];
        if (fetchMode.Count > 0)
        {
            return string.Equals(fetchMode.ToString(), "navigate", StringComparison.OrdinalIgnoreCase);
        }

        if (string.Equals(request.Headers.XRequestedWith, "XMLHttpRequest", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        foreach (var accepted in request.GetTypedHeaders().Accept)
        {
            if (accepted.Quality is not 0
                && (accepted.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase)
                    || accepted.MediaType.Equals("application/xhtml+xml", StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    private async Task<string> SchemeNameAsync(HttpContext context)
    {
        if (_authenticationScheme is not null)
        {
            return _authenticationScheme;
        }

        var schemes = context.RequestServices.GetService<IAuthenticationSchemeProvider>();
        var scheme = schemes is null ? null : await schemes.GetDefaultChallengeSchemeAsync();
        return scheme?.Name ?? PitchlyAuthenticationDefaults.AuthenticationScheme;
    }

    private static async Task WriteProblemAsync(HttpContext context, PitchlyException exception, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        var problem = new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Type = status switch
            {
                StatusCodes.Status401Unauthorized => "https://tools.ietf.org/html/rfc9110#section-15.5.2",
                StatusCodes.Status403Forbidden => "https://tools.ietf.org/html/rfc9110#section-15.5.4",
                _ => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
            },
        };

        var service = context.RequestServices.GetService<IProblemDetailsService>();
        if (service is not null && await service.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = problem,
            Exception = exception,
        }))
        {
            return;
        }

        await Results.Problem(problem).ExecuteAsync(context);
    }

    [LoggerMessage(EventId = 2113, Level = LogLevel.Warning, Message = "Refreshing the Pitchly tokens of {Key} is paused because fresh tokens keep being rejected; answering 503.")]
    private static partial void LogTokensRejected(ILogger logger, PitchlyTokenKey? key);

    [LoggerMessage(EventId = 2154, Level = LogLevel.Warning, Message = "Pitchly tokens for {Key} were refused: its organization is not registered for client_credentials; answering 403.")]
    private static partial void LogOrganizationNotRegistered(ILogger logger, PitchlyTokenKey? key);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Pitchly sign-in required for {Key}; challenging.")]
    private static partial void LogChallenging(ILogger logger, PitchlyTokenKey? key);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "Pitchly sign-in required for {Key}; answering 401 to a request that is not a page navigation.")]
    private static partial void LogUnauthorized(ILogger logger, PitchlyTokenKey? key);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Error, Message = "The Pitchly tokens of {Key} are missing or were refused; answering 503. The install must be reconnected.")]
    private static partial void LogInstallUnavailable(ILogger logger, PitchlyTokenKey key);
}
