using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Pitchly.AspNetCore;
using Pitchly.Samples.Blazor.Components;
using Pitchly.Samples.Shared;

var builder = WebApplication.CreateBuilder(args);

// With no Pitchly:ClientId configured, run on the embedded emulator (real HTTP on loopback) so the sample works
// without a Pitchly account; it fills in the Pitchly:* endpoints and client credentials.
var emulator = await builder.AddPitchlyEmulatorUnlessConfiguredAsync();
builder.Services.AddSingleton(new PitchlyBackend(emulator?.BaseAddress));

builder.Services
    .AddAuthentication(options =>
    {
        options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
        options.DefaultChallengeScheme = PitchlyAuthenticationDefaults.AuthenticationScheme;
    })
    .AddCookie()
    .AddPitchly();
builder.Services.AddAuthorization();
builder.Services.AddCascadingAuthenticationState();

// Calls as the signed-in user, from pages and from interactive components alike: AddPitchlyBlazor() makes the
// circuit's user (its AuthenticationStateProvider) the user the typed client and the subscription client call as,
// over WebSockets and long polling, where there is no HTTP request to read the user from.
builder.Services.AddPitchlyTokenManagement();
builder.Services.AddPitchlyGraphQLClient();
builder.Services.AddPitchlySubscriptionClient();
builder.Services.AddPitchlyBlazor();
builder.Services.AddTransient<PitchlyDataReader>();
builder.Services.AddTransient<PitchlyRowWatcher>();

builder.Services.AddRazorComponents().AddInteractiveServerComponents();

var app = builder.Build();

if (!app.Environment.IsDevelopment())
{
    app.UseExceptionHandler("/error", createScopeForErrors: true);
}

app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();

// Requests outside circuits (none in this sample calls Pitchly) still get the sign-in challenge; inside a circuit the
// components catch PitchlySignInRequiredException and navigate to /account/signin themselves.
app.UsePitchlySignInRequiredChallenge();

app.MapGet("/account/signin", (string? returnUrl) => TypedResults.Challenge(
    new AuthenticationProperties { RedirectUri = PitchlyReturnUrl.LocalOr(returnUrl, "/data") },
    [PitchlyAuthenticationDefaults.AuthenticationScheme]));

app.MapPost("/account/signout", async (HttpContext context, IAntiforgery antiforgery) =>
{
    await antiforgery.ValidateRequestAsync(context);

    // Ends this browser's session: the person's other browsers keep working; the tokens go with the last session.
    await context.SignOutOfPitchlyAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    return TypedResults.LocalRedirect("/");
});

app.MapStaticAssets();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

await app.RunAsync();
