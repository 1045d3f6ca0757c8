using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Consumer.Tests;
using Pitchly.AspNetCore.Emulator.Internal;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;

namespace Pitchly.AspNetCore.Emulator.Tests;

/// <summary>
/// The emulator serves loopback only unless allowed: an app that maps it, and the <c>pitchly-emulator</c> tool run as its
/// own process, stop at start-up on an address other machines can reach.
/// </summary>
public sealed class RemoteBindingTests
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("http://127.0.0.1:5199", true)]
    [InlineData("http://127.0.0.2:5199", true)]
    [InlineData("http://localhost:5199", true)]
    [InlineData("https://LOCALHOST:5199/", true)]
    [InlineData("http://[::1]:5199", true)]
    [InlineData("http://unix:/tmp/emulator.sock", true)]
    [InlineData("http://0.0.0.0:5199", false)]
    [InlineData("http://[::]:5199", false)]
    [InlineData("http://*:5199", false)]
    [InlineData("http://+:5199", false)]
    [InlineData("http://192.168.1.20:5199", false)]
    [InlineData("http://10.0.0.5", false)]
    [InlineData("http://[fe80::1]:5199", false)]
    [InlineData("http://emulator.example:5199", false)]
    [InlineData("http://localhost.example:5199", false)]
    public void Loopback_listen_addresses_are_told_from_the_others(string address, bool loopback) =>
        Assert.Equal(loopback, Loopback.IsListenAddress(address));

    [Fact]
    public async Task An_app_that_maps_the_emulator_refuses_to_start_on_a_wildcard_address()
    {
        await using var app = BuildApp("http://0.0.0.0:0", allowRemote: false);

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync(Cancellation));

        Assert.Contains("0.0.0.0", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Pitchly:Emulator:AllowRemote=true", exception.Message, StringComparison.Ordinal);
        Assert.Contains("--allow-remote", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_app_that_maps_the_emulator_starts_on_a_wildcard_address_when_allowed()
    {
        await using var app = BuildApp("http://0.0.0.0:0", allowRemote: true);

        await app.StartAsync(Cancellation);
        var port = new Uri(app.Urls.Single()).Port;
        using var http = new HttpClient();
        using var response = await http.GetAsync($"http://127.0.0.1:{port}/_emulator/stats", Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await app.StopAsync(Cancellation);
    }

    [Fact]
    public async Task An_app_on_loopback_starts_as_before()
    {
        await using var app = BuildApp("http://127.0.0.1:0", allowRemote: false);

        await app.StartAsync(Cancellation);

        Assert.StartsWith("http://127.0.0.1:", app.Urls.Single(), StringComparison.Ordinal);
        await app.StopAsync(Cancellation);
    }

    [Fact]
    public async Task The_tool_refuses_a_wildcard_address_without_explicit_permission()
    {
        var port = FreePort();
        await using var tool = StartTool("--urls", $"http://0.0.0.0:{port}");

        var exitCode = await tool.WaitForExitAsync(ToolTimeout);

        Assert.True(exitCode is not null and not 0, $"The tool exited with {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing (still running)"}:\n{tool.Output}");
        Assert.Contains($"pitchly-emulator: The Pitchly emulator refuses to serve on http://0.0.0.0:{port}", tool.Output, StringComparison.Ordinal);
        Assert.Contains("--allow-remote", tool.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Pitchly emulator listening on", tool.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_tool_starts_on_a_wildcard_address_when_allowed_and_warns(bool flag)
    {
        var port = FreePort();
        await using var tool = flag
            ? StartTool("--allow-remote", "--urls", $"http://0.0.0.0:{port}")
            : StartTool(new Dictionary<string, string> { ["Pitchly__Emulator__AllowRemote"] = "true" }, "--urls", $"http://0.0.0.0:{port}");

        await tool.WaitForLineAsync(line => line.Contains($"Pitchly emulator listening on http://0.0.0.0:{port}", StringComparison.Ordinal), ToolTimeout);
        using var http = new HttpClient();
        using var response = await http.GetAsync($"http://127.0.0.1:{port}/_emulator/stats", Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("[9016]", tool.Output, StringComparison.Ordinal);
        Assert.Contains("which other machines can reach", tool.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_tool_starts_on_loopback_without_a_warning()
    {
        var port = FreePort();
        await using var tool = StartTool("--urls", $"http://127.0.0.1:{port}");

        await tool.WaitForLineAsync(line => line.Contains($"Pitchly emulator listening on http://127.0.0.1:{port}", StringComparison.Ordinal), ToolTimeout);

        Assert.DoesNotContain("[9016]", tool.Output, StringComparison.Ordinal);
    }

    private static WebApplication BuildApp(string url, bool allowRemote)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.Services.AddPitchlyEmulator(o => o.AllowRemote = allowRemote);
        var app = builder.Build();
        app.MapPitchlyEmulator();
        return app;
    }

    private static DotNetProcess StartTool(params string[] arguments) => StartTool(null, arguments);

    private static DotNetProcess StartTool(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var toolPath = typeof(RemoteBindingTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "EmulatorToolPath").Value!;
        Assert.True(File.Exists(toolPath), $"The tool is not built at {toolPath}.");
        return DotNetProcess.Start(DotNetProcess.Executable, Path.GetDirectoryName(toolPath)!, [toolPath, .. arguments], environment);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
