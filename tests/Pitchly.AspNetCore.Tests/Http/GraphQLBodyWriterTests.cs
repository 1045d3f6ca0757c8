using System.Text;
using Pitchly.AspNetCore.Internal.Http;
using Xunit;

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
}
