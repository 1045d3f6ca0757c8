namespace Pitchly.AspNetCore.Tests.Http;

public sealed class GraphQLBodyWriterTests
{
    private static readonly GraphQLBodyWriter.VariableName AccessToken = new("accessToken");

    private const string Variables =
        """{"s":"a\"b\\c\u00e9\n","n":12345678901234567890123456789,"d":1.50e-3,"t":true,"f":false,"z":null,"a":[1,"x",{"k":[]}],"o":{"p":{"q":-0.0}}}""";

    [Fact]
    public void The_token_variable_is_added_and_every_other_byte_is_kept()
    {
        var body = """{"query":"query Q($s: String) { q }", "variables" : """ + Variables + ""","operationName":"Q","extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}""";

        var written = Write(body);

        Assert.Equal(body.Replace("\"variables\" : {\"s\"", "\"variables\" : {\"accessToken\":\"T/\\u002B\\u003C\",\"s\"", StringComparison.Ordinal), written);
    }

    [Fact]
    public void An_existing_token_variable_is_replaced_in_place()
    {
        Assert.Equal("""{"variables":{"a":1,"accessToken":"T/\u002B\u003C","b":[2]}}""", Write("""{"variables":{"a":1,"accessToken":{"old":["x"]},"b":[2]}}"""));
    }

    [Theory]
    [InlineData("""{"query":"{ q }"}""", """{"query":"{ q }","variables":{"accessToken":"T/\u002B\u003C"}}""")]
    [InlineData("""{"query":"{ q }","variables":null}""", """{"query":"{ q }","variables":{"accessToken":"T/\u002B\u003C"}}""")]
    [InlineData("""{"variables":{}}""", """{"variables":{"accessToken":"T/\u002B\u003C"}}""")]
    [InlineData("{}", """{"variables":{"accessToken":"T/\u002B\u003C"}}""")]
    [InlineData("""{"input":{"variables":{}},"query":"{ q }"}""", """{"input":{"variables":{}},"query":"{ q }","variables":{"accessToken":"T/\u002B\u003C"}}""")]
    public void Variables_are_created_when_absent_or_null(string body, string expected)
    {
        Assert.Equal(expected, Write(body));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[{\"query\":\"{ q }\"}]")]
    [InlineData("{\"query\":\"{ q }\"")]
    [InlineData("{\"query\":\"{ q }\"} trailing")]
    [InlineData("{\"variables\":\"text\"}")]
    public void Bodies_that_are_not_a_GraphQL_object_are_left_alone(string body)
    {
        Assert.Null(GraphQLBodyWriter.TrySetVariable(Encoding.UTF8.GetBytes(body), AccessToken, "T"));
    }

    [Fact]
    public void A_token_variable_whose_name_is_escaped_in_the_body_is_replaced_in_place()
    {
        Assert.Equal("""{"variables":{"access\u0054oken":"T/\u002B\u003C"}}""", Write("""{"variables":{"access\u0054oken":"old"}}"""));
    }

    [Theory]
    [InlineData("""{"variables":{"a":1},"query":"{ q }","variables":{"b":2}}""", "variables")]
    [InlineData("""{"variables":{"accessToken":"mine"},"variables":null}""", "variables")]
    [InlineData("""{"variables":null,"variables":{}}""", "variables")]
    [InlineData("""{"variables":{},"vari\u0061bles":{}}""", "variables")]
    [InlineData("""{"variables":{"accessToken":"a","x":1,"accessToken":"b"}}""", "variables.accessToken")]
    [InlineData("""{"variables":{"accessToken":"a","access\u0054oken":{"n":[1]}}}""", "variables.accessToken")]
    public void A_body_with_duplicate_members_where_the_token_goes_is_refused_with_a_typed_error(string body, string duplicate)
    {
        var refused = Assert.Throws<PitchlyException>(() => GraphQLBodyWriter.TrySetVariable(Encoding.UTF8.GetBytes(body), AccessToken, "T-secret"));

        Assert.Contains($"'{duplicate}'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("more than once", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("T-secret", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("mine", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_members_elsewhere_in_the_body_are_left_to_the_server()
    {
        Assert.Equal(
            """{"query":"{ q }","query":"{ r }","variables":{"x":1,"x":2,"accessToken":"T/\u002B\u003C","o":{"accessToken":1,"accessToken":2}}}""",
            Write("""{"query":"{ q }","query":"{ r }","variables":{"x":1,"x":2,"accessToken":"old","o":{"accessToken":1,"accessToken":2}}}"""));
    }

    [Theory]
    [InlineData("api-key")]
    [InlineData("install")]
    public async Task A_client_refuses_to_send_a_body_with_duplicate_variables_and_sends_nothing(string credential)
    {
        var sent = 0;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPitchlyTokenManagement(o => { o.ClientId = "appDuplicates0000001"; o.ClientSecret = "plys_secret-of-the-duplicates-test-000000000000"; });
        var http = services.AddHttpClient("app");
        // The counting handler stands in for the network, and for Pitchly at a test host.
        _ = credential == "api-key"
            ? http.AddPitchlyApiKey(o => { o.AllowCustomPrimaryHandler = true; o.AllowedOrigins.Add("https://api.pitchly.test"); })
            : http.AddPitchlyInstallAccessToken("orgDuplicates0000001", configure: o =>
            {
                o.Placement = PitchlyTokenPlacement.Both;
                o.AllowCustomPrimaryHandler = true;
                o.AllowedOrigins.Add("https://api.pitchly.test");
            });
        http.ConfigurePrimaryHttpMessageHandler(() => new CountingHandler(() => Interlocked.Increment(ref sent)));
        await using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IPitchlyTokenStore>().SetAsync(PitchlyTokenKey.ForInstall("orgDuplicates0000001"), new PitchlyTokenRecord
        {
            AccessToken = "plyu_install-token",
            ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
        }, TestContext.Current.CancellationToken);
        using var body = new StringContent("""{"query":"{ q }","variables":{"accessToken":"a"},"variables":{"accessToken":"b"}}""", Encoding.UTF8, "application/json");

        var refused = await Assert.ThrowsAsync<PitchlyException>(() => provider.GetRequiredService<IHttpClientFactory>().CreateClient("app")
            .PostAsync(new Uri("https://api.pitchly.test/graphql"), body, TestContext.Current.CancellationToken));

        Assert.Contains("'variables' more than once", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, Volatile.Read(ref sent));
    }

    // Sent as the handler sends it: the kept body around the splice, with the Content-Length it declares.
    private static string Write(string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var splice = GraphQLBodyWriter.TrySetVariable(bytes, AccessToken, "T/+<");
        Assert.NotNull(splice);
        using var content = new SplicedContent(bytes, splice.Value);
        using var sent = new MemoryStream();
        content.CopyTo(sent, null, TestContext.Current.CancellationToken);
        Assert.Equal(sent.Length, content.Headers.ContentLength);
        return Encoding.UTF8.GetString(sent.ToArray());
    }

    private sealed class CountingHandler(Action onSend) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            onSend();
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StringContent("""{"data":{"q":1}}""", Encoding.UTF8, "application/json") });
        }
    }
}
