using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Pitchly.AspNetCore;
using Pitchly.Samples.Shared;
using StackExchange.Redis;

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
    .AddPitchly(options =>
    {
        options.AccessDeniedPath = "/account/denied";
        options.Events.OnRemoteFailure = context =>
        {
            context.Response.Redirect("/account/error?reason=" + Uri.EscapeDataString(context.Failure?.Message ?? "unknown"));
            context.HandleResponse();
            return Task.CompletedTask;
        };
    });

// The package's typed GraphQL client, calling as the signed-in user: the handler attaches the user's token and, when
// Pitchly rejects it, refreshes it once and replays. Pitchly:AccessToken:Placement=GraphQLVariable (and the v2
// endpoints under Pitchly) switch it to the legacy API by configuration alone.
var tokens = builder.Services.AddPitchlyTokenManagement();
if (builder.Configuration["Pitchly:Redis:Configuration"] is { Length: > 0 } redisConfiguration)
{
    // Web-farm mode (samples/Pitchly.Samples.AppHost runs three of these behind a proxy): tokens in Redis, encrypted,
    // with the refresh lock shared by every instance; Data Protection keys in the same Redis, so any instance reads the
    // cookies, sign-in state and tokens another one wrote. Without the setting: in-memory store, one instance.
    tokens.AddRedis();
    var keys = new Lazy<IConnectionMultiplexer>(() => ConnectionMultiplexer.Connect(redisConfiguration));
    builder.Services.AddDataProtection()
        .SetApplicationName("Pitchly.Samples.Mvc")
        .PersistKeysToStackExchangeRedis(() => keys.Value.GetDatabase(), "pitchly-samples:data-protection-keys");
}

builder.Services.AddPitchlyGraphQLClient();
builder.Services.AddTransient<PitchlyDataReader>();

// GraphQL subscriptions over graphql-ws (the /live page), with the same token refresh as the HTTP calls.
builder.Services.AddPitchlySubscriptionClient();
builder.Services.AddTransient<PitchlyRowWatcher>();
builder.Services.AddControllersWithViews();

var app = builder.Build();

if (!app.Environment.IsDevelopment())
{
    app.UseExceptionHandler("/error");
}

app.UseRouting();
app.UseAuthentication();
app.UseAuthorization();

// A user whose stored tokens are gone (signed out elsewhere, refresh token revoked) is sent to sign in again; the token
// store or Pitchly unavailable for a moment answers 503 with Retry-After and a short page, never the error page's 500.
app.UsePitchlySignInRequiredChallenge();

app.MapControllers();

await app.RunAsync();
