using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pitchly.AspNetCore.Emulator;
using StackExchange.Redis;

namespace Pitchly.AspNetCore.Storm.Instance;

/// <summary>
/// The user's app, one instance of the farm: cookie sign-in with Pitchly, token management in Redis, Data Protection
/// keys shared through Redis, and <c>GET /work</c>, which makes one GraphQL call as the signed-in user.
/// </summary>
internal static class InstanceApp
{
    public static async Task<int> RunAsync(CommandLine commandLine)
    {
        var emulator = new Uri(commandLine.RequiredText("emulator-url"));
        // GraphQL may go through a proxy (a test's fault injector); sign-in and tokens always go to the emulator.
        var graphQL = new Uri(new Uri(commandLine.Text("graphql-url") ?? emulator.ToString()), PitchlyEmulatorDefaults.GraphQLPath);
        var redis = commandLine.RequiredText("redis");
        var overrides = commandLine.Prefixed("config-");
        ParentWatch.Start(commandLine);
        commandLine.RejectUnknown();

        // A burst of hundreds of calls on a cold, 2-core pool would otherwise wait for thread injection while Data
        // Protection reads its key ring from Redis synchronously, and Redis replies would time out behind it
        // (StackExchange.Redis's guidance for bursty load).
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, 200), Math.Max(completionPorts, 200));

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pitchly:ClientId"] = PitchlyEmulatorDefaults.ClientId,
            ["Pitchly:ClientSecret"] = PitchlyEmulatorDefaults.ClientSecret,
            ["Pitchly:AuthorizationEndpoint"] = new Uri(emulator, PitchlyEmulatorDefaults.AuthorizationPath).ToString(),
            ["Pitchly:TokenEndpoint"] = new Uri(emulator, PitchlyEmulatorDefaults.TokenPath).ToString(),
            ["Pitchly:GraphQLEndpoint"] = graphQL.ToString(),
            ["Pitchly:Redis:Configuration"] = redis,
        });
        builder.Configuration.AddInMemoryCollection(overrides.Select(o => KeyValuePair.Create(o.Name.Replace('.', ':'), (string?)o.Value)));

        var services = builder.Services;
        var dataProtectionRedis = await ConnectionMultiplexer.ConnectAsync(redis + ",abortConnect=false");
        services.AddDataProtection()
            .SetApplicationName("pitchly-storm")
            .PersistKeysToStackExchangeRedis(dataProtectionRedis, "pitchly-storm-dp-keys");
        services.AddAuthentication(o =>
            {
                o.DefaultScheme = "Cookies";
                o.DefaultChallengeScheme = "Pitchly";
            })
            .AddCookie("Cookies", o => o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest)
            .AddPitchly(o => o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);
        services.AddPitchlyTokenManagement().AddRedis();
        services.AddTransient<ProbeHandler>();
        if (builder.Configuration.GetValue<bool>(StormFreeze.AfterFenceKey))
        {
            FreezeAfterFence(services);
        }
        services.AddHttpClient<ViewerClient>(c =>
            {
                c.BaseAddress = graphQL;
                c.Timeout = TimeSpan.FromSeconds(60);
            })
            .AddPitchlyUserAccessToken()
            .AddHttpMessageHandler<ProbeHandler>();

        using var refreshWaits = new RefreshWaitListener();
        using var tokenRequests = new TokenRequestTimes();
        await using var app = builder.Build();
        app.UseAuthentication();
        app.MapGet("/login", () => Results.Challenge(new AuthenticationProperties { RedirectUri = "/whoami" }, ["Pitchly"]));
        app.MapGet("/whoami", WhoAmIAsync);
        app.MapGet("/work", WorkAsync);
        app.MapGet(StormHeaders.TokenRequestsPath, () => Results.Json(tokenRequests.Drain()));

        await app.StartAsync();

        // Load the shared key ring now (creating the farm's first key if need be), not under the first burst of calls.
        app.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("pitchly-storm-warm-up").Protect([1]);
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        Console.WriteLine(StormFarm.ReadyPrefix + address);
        await app.WaitForShutdownAsync();
        await dataProtectionRedis.DisposeAsync();
        return 0;
    }

    private static async Task<IResult> WhoAmIAsync(HttpContext context, IPitchlyTokenStore store)
    {
        if (PitchlyTokenKey.FromPrincipal(context.User) is not { } key)
        {
            return Results.Text("not signed in", statusCode: StatusCodes.Status401Unauthorized);
        }

        // The token sign-in stored, so the driver counts it as the user's first generation.
        if (await store.GetAsync(key, context.RequestAborted) is { } record)
        {
            context.Response.Headers[StormHeaders.TokenFingerprint] = TokenFingerprint.Of(record.AccessToken);
        }

        return Results.Text(key.PersonId);
    }

    private static async Task<IResult> WorkAsync(HttpContext context, ViewerClient client)
    {
        if (PitchlyTokenKey.FromPrincipal(context.User) is not { } key)
        {
            return Failure(context, StatusCodes.Status401Unauthorized, "not-signed-in");
        }

        var probe = WorkProbe.Start();
        try
        {
            var personId = await client.GetViewerPersonIdAsync(context.RequestAborted);
            context.Response.Headers[StormHeaders.RefreshWaited] = probe.RefreshWaits > 0 ? "1" : "0";
            if (probe.RefreshWaits > 0)
            {
                context.Response.Headers[StormHeaders.RefreshWaitMilliseconds] = probe.RefreshWaitMilliseconds.ToString("0.###", CultureInfo.InvariantCulture);
            }

            if (probe.TokenFingerprint is { } fingerprint)
            {
                context.Response.Headers[StormHeaders.TokenFingerprint] = fingerprint;
            }

            return personId == key.PersonId
                ? Results.Text(personId)
                : Failure(context, StatusCodes.Status500InternalServerError, "wrong-person");
        }
        catch (PitchlySignInRequiredException)
        {
            return Failure(context, StatusCodes.Status401Unauthorized, "sign-in-required");
        }
        catch (PitchlyTokenStoreUnavailableException)
        {
            return Failure(context, StatusCodes.Status503ServiceUnavailable, "store-unavailable");
        }
        catch (PitchlyTokenEndpointException)
        {
            return Failure(context, StatusCodes.Status502BadGateway, "token-endpoint");
        }
        catch (PitchlyTokenRejectedException)
        {
            return Failure(context, StatusCodes.Status503ServiceUnavailable, "token-rejected");
        }
        catch (PitchlyRefreshTimeoutException)
        {
            return Failure(context, StatusCodes.Status504GatewayTimeout, "refresh-timeout");
        }
        catch (GraphQLCallException)
        {
            return Failure(context, StatusCodes.Status502BadGateway, "graphql");
        }
        catch (HttpRequestException)
        {
            return Failure(context, StatusCodes.Status502BadGateway, "graphql-transport");
        }
        catch (PitchlyException)
        {
            return Failure(context, StatusCodes.Status500InternalServerError, "pitchly");
        }
    }

    private static IResult Failure(HttpContext context, int status, string outcome)
    {
        context.Response.Headers[StormHeaders.Outcome] = outcome;
        return Results.Text(outcome, statusCode: status);
    }

    private static void FreezeAfterFence(IServiceCollection services)
    {
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(IPitchlyTokenStore))
            ?? throw new InvalidOperationException("No IPitchlyTokenStore is registered: AddRedis() should have added one.");
        services.RemoveAll<IPitchlyTokenStore>();
        services.AddSingleton(new FreezePoint(enabled: true));
        services.AddSingleton<IPitchlyTokenStore>(provider => new FreezingTokenStore(Create<IPitchlyTokenStore>(provider, registered), provider.GetRequiredService<FreezePoint>()));
    }

    private static T Create<T>(IServiceProvider provider, ServiceDescriptor descriptor) =>
        (T)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(provider)
            ?? ActivatorUtilities.CreateInstance(provider, descriptor.ImplementationType!));
}
