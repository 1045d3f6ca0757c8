using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using static Pitchly.AspNetCore.Emulator.Tests.EmulatorTestHost;

namespace Pitchly.AspNetCore.Emulator.Tests;

/// <summary>
/// The <c>/_emulator/…</c> endpoints against a page in the developer's own browser, on real Kestrel: a DNS-rebinding page
/// (its own domain in <c>Host</c>), a cross-site page (<c>Origin</c>), a form or <c>text/plain</c> post (no preflight),
/// and bodies past the size cap.
/// </summary>
public sealed class AdminRequestTests
{
    private const string ClientsDatabaseId = "QcgdFMARXWf4DdJja";

    [Theory]
    [InlineData("GET", "/_emulator/stats")]
    [InlineData("POST", "/_emulator/settings")]
    [InlineData("POST", "/_emulator/app-sdk-token?organization_id=" + PitchlyEmulatorDefaults.AcmeOrganizationId)]
    [InlineData("POST", "/_emulator/databases/" + ClientsDatabaseId + "/rows")]
    public async Task A_Host_that_is_not_loopback_is_refused(string method, string path)
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? Json("{\"autoApprove\":true}", path) : null };
        request.Headers.Host = "rebound.example:" + server.BaseAddress.Port;

        using var response = await http.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Host", await response.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        Assert.False(server.Emulator.CurrentOptions.AutoApprove);
        Assert.Equal(0, server.Emulator.GetStats().AccessTokensIssued);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("LOCALHOST")]
    public async Task Loopback_Host_names_are_accepted(string host)
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/_emulator/stats");
        request.Headers.Host = host + ":" + server.BaseAddress.Port;

        using var response = await http.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("https://attacker.example")]
    [InlineData("null")]
    [InlineData("http://192.168.1.20:3000")]
    public async Task A_page_of_another_origin_is_refused(string origin)
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/_emulator/settings") { Content = Json("{\"autoApprove\":true}") };
        request.Headers.Add("Origin", origin);

        using var response = await http.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(server.Emulator.CurrentOptions.AutoApprove);
    }

    [Fact]
    public async Task A_page_served_from_loopback_may_call_them()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/_emulator/settings") { Content = Json("{\"autoApprove\":true}") };
        request.Headers.Add("Origin", "http://localhost:5173");

        using var response = await http.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(server.Emulator.CurrentOptions.AutoApprove);
    }

    [Theory]
    [InlineData("/_emulator/settings", "text/plain")]
    [InlineData("/_emulator/settings", "application/x-www-form-urlencoded")]
    [InlineData("/_emulator/databases/" + ClientsDatabaseId + "/rows", "text/plain")]
    [InlineData("/_emulator/invalidate", "application/x-www-form-urlencoded")]
    public async Task A_body_that_is_not_JSON_is_refused_with_415(string path, string contentType)
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var rowsBefore = RowCount(server);
        var content = new StringContent("{\"autoApprove\":true}", Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);

        using var response = await http.PostAsync(path, content, Cancellation);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.False(server.Emulator.CurrentOptions.AutoApprove);
        Assert.Equal(rowsBefore, RowCount(server));
        Assert.Equal(0, server.Emulator.GetStats().EarlyInvalidations);
    }

    /// <summary>What a page sends with a typeless <c>Blob</c> body: no Content-Type, with a length or chunked.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_without_a_Content_Type_is_refused_with_415(bool chunked)
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        HttpContent content = chunked ? new ChunkedJson("{\"autoApprove\":true}", contentType: null) : new ByteArrayContent(Encoding.UTF8.GetBytes("{\"autoApprove\":true}"));

        using var response = await http.PostAsync("/_emulator/settings", content, Cancellation);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.False(server.Emulator.CurrentOptions.AutoApprove);
    }

    [Fact]
    public async Task Posts_without_a_body_still_work()
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(cancellationToken: Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        using var reset = await http.PostAsync("/_emulator/stats/reset", null, Cancellation);
        using var row = await http.PostAsync("/_emulator/databases/" + ClientsDatabaseId + "/rows", null, Cancellation);

        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        Assert.Equal(HttpStatusCode.Created, row.StatusCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_past_MaxRequestBodySize_is_refused_with_413(bool chunked)
    {
        await using var server = await PitchlyEmulatorServer.StartAsync(o => o.MaxRequestBodySize = 4096, Cancellation);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var rowsBefore = RowCount(server);
        var body = "{\"values\":{\"x\":\"" + new string('a', 8192) + "\"}}";
        HttpContent content = chunked ? new ChunkedJson(body) : Json(body);

        using var response = await http.PostAsync("/_emulator/databases/" + ClientsDatabaseId + "/rows", content, Cancellation);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("MaxRequestBodySize", JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(rowsBefore, RowCount(server));
    }

    private static int RowCount(PitchlyEmulatorServer server) =>
        server.Emulator.Organizations[PitchlyEmulatorDefaults.AcmeOrganizationId].FindDatabase(ClientsDatabaseId)!.Rows.Count;

    private static StringContent Json(string json, string? path = null) =>
        new(path?.Contains("/rows", StringComparison.Ordinal) == true ? "{}" : json, Encoding.UTF8, "application/json");

    /// <summary>JSON sent without a Content-Length (chunked), so only reading it can tell its size.</summary>
    internal sealed class ChunkedJson : HttpContent
    {
        private readonly byte[] _json;

        public ChunkedJson(string json, string? contentType = "application/json")
        {
            _json = Encoding.UTF8.GetBytes(json);
            Headers.ContentType = contentType is null ? null : new MediaTypeHeaderValue(contentType);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_json).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
