using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Pitchly.AspNetCore.Emulator;

namespace Pitchly.AspNetCore.Storm.Emulator;

/// <summary>
/// The farm's stand-alone emulator: strict refresh-token reuse detection, automatic approval, the load users and
/// short-lived access tokens, on a free loopback port it reports on standard output. <c>--token-latency-ms</c> delays
/// the token endpoint's answers only (GraphQL stays fast), so a run can put a known price on every grant; it lives here
/// rather than in <see cref="PitchlyEmulatorOptions"/>, whose <see cref="PitchlyEmulatorOptions.Latency"/> already
/// serves users who want a slow emulator, because only the harness needs the two endpoints apart.
/// </summary>
internal static class EmulatorApp
{
    public static async Task<int> RunAsync(CommandLine commandLine)
    {
        var users = commandLine.Integer("users", 20, 1, 10_000);
        var tokenLifetime = commandLine.Seconds("token-lifetime-seconds", 5, 1, 3600);
        var earlyInvalidationRate = commandLine.Fraction("early-invalidation-rate", 0);
        var tokenLatency = TimeSpan.FromMilliseconds(commandLine.Integer("token-latency-ms", 0, 0, 60_000));
        ParentWatch.Start(commandLine);
        commandLine.RejectUnknown();

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddPitchlyEmulator(o =>
        {
            o.StrictRefreshTokenReuse = true;
            o.AutoApprove = true;
            o.AccessTokenLifetime = tokenLifetime;
            o.GeneratedUsers = users;
            o.EarlyInvalidationRate = earlyInvalidationRate;
        });

        await using var app = builder.Build();
        if (tokenLatency > TimeSpan.Zero)
        {
            app.Use(async (context, next) =>
            {
                if (HttpMethods.IsPost(context.Request.Method) && context.Request.Path.Equals(PitchlyEmulatorDefaults.TokenPath, StringComparison.Ordinal))
                {
                    // Before the grant is applied: a client that gives up meanwhile has spent nothing.
                    await Task.Delay(tokenLatency, context.RequestAborted);
                }

                await next(context);
            });
        }

        app.MapPitchlyEmulator();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var loadUsers = app.Services.GetRequiredService<PitchlyEmulator>().Users.Where(u => u.Name.StartsWith("Load User ", StringComparison.Ordinal));
        Console.WriteLine("storm-users: " + string.Join(',', loadUsers.Select(u => u.PersonId)));
        Console.WriteLine(StormFarm.ReadyPrefix + address);
        await app.WaitForShutdownAsync();
        return 0;
    }
}
