using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Internal.Http;

/// <summary>Turns a <see cref="PitchlySignInRequiredException"/> escaping a request into a sign-in challenge.</summary>
internal sealed partial class PitchlySignInRequiredChallengeMiddleware
{
    private readonly RequestDelegate _next;
    private readonly string? _authenticationScheme;
    private readonly ILogger _logger;

    public PitchlySignInRequiredChallengeMiddleware(RequestDelegate next, string? authenticationScheme, ILogger<PitchlySignInRequiredChallengeMiddleware> logger)
    {
        _next = next;
        _authenticationScheme = authenticationScheme;
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
            LogChallenging(_logger, exception.Key);
            context.Response.Clear();
            await context.ChallengeAsync(_authenticationScheme);
        }
    }

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Pitchly sign-in required for {Key}; challenging.")]
    private static partial void LogChallenging(ILogger logger, PitchlyTokenKey? key);
}
