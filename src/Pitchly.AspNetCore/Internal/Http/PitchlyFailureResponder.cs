using System.Globalization;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>
/// Answers a <see cref="PitchlyException"/> that escaped a request with what its caller can act on, for
/// <c>UsePitchlySignInRequiredChallenge()</c> and for <c>UseExceptionHandler()</c> alike: a user's sign-in required is a
/// challenge for a page navigation and a 401 problem otherwise; a retryable failure is 503 with <c>Retry-After</c>; every
/// other documented failure gets the status <see cref="PitchlyFailure.Describe"/> gives it, never 500. API and script
/// calls get a problem details body (RFC 9457, through <see cref="IProblemDetailsService"/> when one is registered), page
/// navigations a short HTML page. Bodies never carry the exception's message.
/// </summary>
internal static partial class PitchlyFailureResponder
{
    /// <summary>Answers <paramref name="exception"/>; the response must not have started.</summary>
    /// <param name="context">The request.</param>
    /// <param name="exception">The failure.</param>
    /// <param name="authenticationScheme">The scheme to challenge; <see langword="null"/> for the default challenge scheme.</param>
    public static async Task RespondAsync(HttpContext context, PitchlyException exception, string? authenticationScheme)
    {
        var services = context.RequestServices;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger(typeof(PitchlySignInRequiredChallengeMiddleware).FullName!)
            ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var now = (services.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
        var failure = PitchlyFailure.Describe(exception, now);
        var navigation = IsPageNavigation(context.Request);
        context.Response.Clear();

        if (failure.IsSignInRequired && exception is PitchlySignInRequiredException signIn)
        {
            if (navigation)
            {
                LogChallenging(logger, signIn.Key);
                await context.ChallengeAsync(authenticationScheme, new AuthenticationProperties { RedirectUri = ReturnUrl(context) });
                return;
            }

            LogUnauthorized(logger, signIn.Key);
            context.Response.Headers.WWWAuthenticate = await SchemeNameAsync(context, authenticationScheme) + " error=\"sign_in_required\"";
        }
        else
        {
            Log(logger, exception, failure);
        }

        context.Response.StatusCode = failure.Status;
        context.Response.Headers.CacheControl = "no-store";
        if (failure.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        if (navigation)
        {
            await WritePageAsync(context, failure);
        }
        else
        {
            await WriteProblemAsync(context, exception, failure);
        }
    }

    /// <summary>
    /// A browser loading a page: GET or HEAD that accepts HTML and, when the browser says so, is a navigation. fetch and
    /// XHR calls (even those accepting HTML), and clients asking for JSON, are not: a redirect to Pitchly's sign-in page
    /// would be followed silently and fail on its cross-origin answer, and an HTML page would not be read.
    /// </summary>
    internal static bool IsPageNavigation(HttpRequest request)
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

    private static async Task<string> SchemeNameAsync(HttpContext context, string? authenticationScheme)
    {
        if (authenticationScheme is not null)
        {
            return authenticationScheme;
        }

        var schemes = context.RequestServices.GetService<IAuthenticationSchemeProvider>();
        var scheme = schemes is null ? null : await schemes.GetDefaultChallengeSchemeAsync();
        return scheme?.Name ?? PitchlyAuthenticationDefaults.AuthenticationScheme;
    }

    private static async Task WriteProblemAsync(HttpContext context, PitchlyException exception, PitchlyFailure failure)
    {
        var problem = new ProblemDetails
        {
            Status = failure.Status,
            Title = failure.Title,
            Detail = failure.Detail,
            Type = failure.Status switch
            {
                StatusCodes.Status401Unauthorized => "https://tools.ietf.org/html/rfc9110#section-15.5.2",
                StatusCodes.Status403Forbidden => "https://tools.ietf.org/html/rfc9110#section-15.5.4",
                StatusCodes.Status502BadGateway => "https://tools.ietf.org/html/rfc9110#section-15.6.3",
                _ => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
            },
        };
        problem.Extensions["error"] = failure.Error;
        if (failure.RetryAfterSeconds is { } seconds)
        {
            problem.Extensions["retryAfter"] = seconds;
        }

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

    private static Task WritePageAsync(HttpContext context, PitchlyFailure failure)
    {
        var encoder = HtmlEncoder.Default;
        var title = encoder.Encode(failure.Title);
        var retry = failure.RetryAfterSeconds is { } seconds
            ? $"<p>Please try again in {seconds.ToString(CultureInfo.InvariantCulture)} second{(seconds == 1 ? string.Empty : "s")}: <a href=\"\">reload this page</a>.</p>"
            : string.Empty;
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        return context.Response.WriteAsync(
            $"""
            <!DOCTYPE html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
            <body>
            <h1>{title}</h1>
            <p>{encoder.Encode(failure.Detail)}</p>
            {retry}
            <p><small>{failure.Status.ToString(CultureInfo.InvariantCulture)} · {encoder.Encode(failure.Error)}</small></p>
            </body>
            </html>
            """,
            context.RequestAborted);
    }

    private static void Log(ILogger logger, PitchlyException exception, PitchlyFailure failure)
    {
        if (exception is PitchlyTokenRejectedException rejected)
        {
            LogTokensRejected(logger, rejected.Key);
        }
        else if (exception is PitchlySignInRequiredException { Key: { } key })
        {
            LogInstallUnavailable(logger, key);
        }
        else if (exception is PitchlyOrganizationNotRegisteredException notRegistered)
        {
            LogOrganizationNotRegistered(logger, notRegistered.Key);
        }
        else if (failure.RetryAfter is not null)
        {
            LogRetryable(logger, failure.Error, failure.RetryAfterSeconds ?? 0, exception);
        }
        else
        {
            LogNotRetryable(logger, failure.Error, failure.Status, exception);
        }
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

    [LoggerMessage(EventId = 2114, Level = LogLevel.Warning, Message = "A retryable Pitchly failure ({Error}) ended the request; answering 503 with Retry-After {RetryAfterSeconds}.")]
    private static partial void LogRetryable(ILogger logger, string error, int retryAfterSeconds, Exception exception);

    [LoggerMessage(EventId = 2115, Level = LogLevel.Error, Message = "A Pitchly failure ({Error}) ended the request; answering {Status}.")]
    private static partial void LogNotRetryable(ILogger logger, string error, int status, Exception exception);
}
