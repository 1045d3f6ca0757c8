using Microsoft.AspNetCore.Authentication.Cookies;
using Pitchly.Samples.MinimalApi;
using Pitchly.Samples.Shared;

// A JSON API for a script or a single-page app (wwwroot/index.html): the browser holds only the sign-in cookie, the
// server holds the Pitchly tokens and calls Pitchly for it. API requests never redirect: a caller who is not signed
// in, or whose Pitchly tokens are gone, gets 401 and signs in again through /account/signin.
var builder = WebApplication.CreateBuilder(args);

// With no Pitchly:ClientId configured, run on the embedded emulator (real HTTP on loopback).
await builder.AddPitchlyEmulatorUnlessConfiguredAsync();

builder.Services
    .AddAuthentication(options =>
    {
        options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
        // Challenges go to the cookie scheme, which answers API endpoints with 401 instead of a redirect; only
        // /account/signin sends the browser to Pitchly.
        options.DefaultChallengeScheme = CookieAuthenticationDefaults.AuthenticationScheme;
    })
    .AddCookie(options => options.LoginPath = "/account/signin")
    .AddPitchly();

builder.Services.AddAuthorization();
builder.Services.AddPitchlyTokenManagement();
builder.Services.AddPitchlyGraphQLClient();
builder.Services.AddTransient<PitchlyDataReader>();
builder.Services.AddProblemDetails();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseAuthentication();
app.UseAuthorization();

// Pitchly tokens gone or refused: fetch() and other API callers get 401 (ProblemDetails); pages would be redirected.
// The token store or Pitchly unavailable for a moment (a retryable PitchlyException): 503 with Retry-After.
app.UsePitchlySignInRequiredChallenge();

app.MapSampleApi();

await app.RunAsync();
