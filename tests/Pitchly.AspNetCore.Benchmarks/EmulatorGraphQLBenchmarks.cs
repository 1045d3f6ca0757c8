using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pitchly.AspNetCore.Emulator;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>
/// The emulator's GraphQL endpoint, one in-process round trip (TestServer: routing, body, authentication, parse,
/// validate, execute, serialise) of the queries apps send most: the identity query and a workspace read with a variable.
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class EmulatorGraphQLBenchmarks
{
    private const string SalesWorkspaceId = "wspKM3ejhFrdn68vp9K3";
    private const string IdentityQuery = """{"query":"{ organization { id } viewer { person { id name email image } } }"}""";

    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private string _token = null!;
    private byte[] _identity = null!;
    private byte[] _workspace = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Services.AddPitchlyEmulator(o => o.GraphQLRequestLogCapacity = 0);
        _app = builder.Build();
        _app.MapPitchlyEmulator();
        await _app.StartAsync();
        _http = _app.GetTestClient();

        using var grant = await _http.PostAsync(PitchlyEmulatorDefaults.TokenPath, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["organization_id"] = PitchlyEmulatorDefaults.AcmeOrganizationId,
            ["client_id"] = PitchlyEmulatorDefaults.ClientId,
            ["client_secret"] = PitchlyEmulatorDefaults.ClientSecret,
        }));
        _token = (await grant.Content.ReadFromJsonAsync<JsonObject>())!["access_token"]!.GetValue<string>();
        _identity = Encoding.UTF8.GetBytes(IdentityQuery);
        _workspace = Encoding.UTF8.GetBytes(
            $$$"""{"query":"query Workspace($id: ID!) { workspace(id: $id) { id name tables { id name fields { id name type } records { id fields { fieldId value } } } } }","variables":{"id":"{{{SalesWorkspaceId}}}"}}""");

        // Check what is measured before timing it: both queries succeed with data.
        foreach (var body in new[] { _identity, _workspace })
        {
            var answer = JsonNode.Parse(await SendAsync(body))!;
            if (answer["errors"] is not null || answer["data"] is not JsonObject)
            {
                throw new InvalidOperationException("Benchmark set-up check failed: " + answer.ToJsonString());
            }
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public Task<string> IdentityQueryRoundTrip() => SendAsync(_identity);

    [Benchmark]
    public Task<string> WorkspaceQueryWithVariables() => SendAsync(_workspace);

    private async Task<string> SendAsync(byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, PitchlyEmulatorDefaults.GraphQLPath) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        using var response = await _http.SendAsync(request);
        return await response.Content.ReadAsStringAsync();
    }
}
