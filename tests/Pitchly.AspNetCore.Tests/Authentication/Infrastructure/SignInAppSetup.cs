namespace Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

/// <summary>
/// What every test sign-in app shares: cookie authentication with Pitchly as the challenge, remote failures answered
/// as 403 with <see cref="FailurePrefix"/> and the failure's message, and the <c>/login</c> and <c>/denied</c> pages.
/// </summary>
public static class SignInAppSetup
{
    public const string FailurePrefix = "Sign-in failed: ";

    public static void AddPitchlySignIn(IServiceCollection services, Action<PitchlyAuthenticationOptions>? configure)
    {
        services.AddAuthentication(options =>
            {
                options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                options.DefaultChallengeScheme = PitchlyAuthenticationDefaults.AuthenticationScheme;
            })
            .AddCookie()
            .AddPitchly(options =>
            {
                options.Events.OnRemoteFailure = context =>
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    context.HandleResponse();
                    return context.Response.WriteAsync(FailurePrefix + context.Failure?.Message, context.HttpContext.RequestAborted);
                };
                configure?.Invoke(options);
            });
    }

    public static void MapSignInPages(WebApplication app)
    {
        app.UseAuthentication();
        app.MapGet("/login", () => Results.Challenge(new AuthenticationProperties { RedirectUri = "/me" }));
        app.MapGet("/denied", () => Results.Text("You declined to sign in with Pitchly."));
    }
}
