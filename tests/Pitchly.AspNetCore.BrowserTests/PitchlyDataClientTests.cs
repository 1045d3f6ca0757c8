using System.Net;
using System.Text;
using Pitchly.Samples.Shared;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>The samples' data client turns whatever comes back into readable problems, never into an exception.</summary>
public sealed class PitchlyDataClientTests
{
    [Theory]
    [InlineData(502, "text/html", "<html><body>Bad gateway</body></html>", "HTTP 502 (text/html) with a body that is not JSON: <html>")]
    [InlineData(200, "application/json", """{"data":null,"errors":[{"message":"Token invalid","extensions":{"code":"UNAUTHENTICATED"}}]}""", "Token invalid (UNAUTHENTICATED)")]
    [InlineData(200, "application/json", """{"data":null,"errors":[{"message":"Not allowed","data":{"error":"not-authorized"}}]}""", "Not allowed (not-authorized)")]
    [InlineData(200, "application/json", """{"errors":"everything failed"}""", "Unreadable errors member")]
    [InlineData(200, "application/json", """[1,2,3]""", "a JSON array instead of a GraphQL answer")]
    [InlineData(200, "application/json", """{"data":null}""", "neither data nor errors")]
    [InlineData(500, "application/json", """{"data":{}}""", "Pitchly answered HTTP 500.")]
    [InlineData(200, "application/json", """{"data":{"organization":"Acme","databases":"none","workspaces":[null,7,{"id":null}]}}""", "organization: Pitchly returned no organization.")]
    public async Task Unexpected_answers_become_readable_problems(int status, string mediaType, string body, string expectedProblem)
    {
        var client = new PitchlyDataClient(ClientAnswering(_ => new HttpResponseMessage((HttpStatusCode)status)
        {
            Content = new StringContent(body, Encoding.UTF8, mediaType),
        }));

        var data = await client.GetDataAsync("orgAcme", TestContext.Current.CancellationToken);

        Assert.Contains(data.Problems, problem => problem.Contains(expectedProblem, StringComparison.Ordinal));
        Assert.Empty(data.Databases);
    }

    [Fact]
    public async Task Unreachable_Pitchly_is_a_problem_not_an_exception()
    {
        var client = new PitchlyDataClient(ClientAnswering(_ => throw new HttpRequestException("Connection refused")));

        var data = await client.GetDataAsync("orgAcme", TestContext.Current.CancellationToken);

        Assert.Contains(data.Problems, problem => problem.Contains("could not be reached", StringComparison.Ordinal) && problem.Contains("Connection refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Nulls_missing_members_and_odd_values_are_shown_as_far_as_they_go()
    {
        var client = new PitchlyDataClient(ClientAnswering(query => Json(query switch
        {
            _ when query.Contains("databases", StringComparison.Ordinal) =>
                """{"data":{"databases":[null,{"_id":"db1","name":null,"fields":[{"_id":"f1","name":"Name"},{"name":"No id"},5]}]}}""",
            _ when query.Contains("rows", StringComparison.Ordinal) =>
                """{"data":{"rows":[{"_id":"r1","cols":[{"fieldId":"f1","value":{"nested":[1,true]}},{"fieldId":null,"value":"lost"},{"value":3}]},{"cols":null}]}}""",
            _ => """{"data":{"organization":{"id":"orgAcme","name":null},"workspaces":null}}""",
        })));

        var data = await client.GetDataAsync("orgAcme", TestContext.Current.CancellationToken);

        var database = Assert.Single(data.Databases);
        Assert.Equal("(unnamed database)", database.Name);
        Assert.Equal(["Name", "No id"], database.Fields.Select(field => field.Name));
        Assert.Equal(2, database.Rows.Count);
        Assert.Equal("""{"nested":[1,true]}""", database.Rows[0].ValueOf("f1"));
        Assert.Equal(string.Empty, database.Rows[1].ValueOf("f1"));
        Assert.Empty(data.Workspaces);
        Assert.Null(data.OrganizationName);
    }

    private static HttpClient ClientAnswering(Func<string, HttpResponseMessage> answer) =>
        new(new AnsweringHandler(answer)) { BaseAddress = new Uri("http://127.0.0.1:9/graphql") };

    private static HttpResponseMessage Json(string body) => new(HttpStatusCode.OK)
    {
        Content = new StringContent(body, Encoding.UTF8, "application/json"),
    };

    private sealed class AnsweringHandler(Func<string, HttpResponseMessage> answer) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var query = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
            return answer(query);
        }
    }
}
