using System.Net;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pitchly.Samples.Shared;

namespace Pitchly.AspNetCore.BrowserTests;

/// <summary>
/// The samples' data reader, on the package's typed client, shows whatever comes back as readable problems, never as
/// an exception, and sends its values as GraphQL variables.
/// </summary>
public sealed class PitchlyDataReaderTests
{
    [Theory]
    [InlineData(502, "text/html", "<html><body>Bad gateway</body></html>", "databases: ")]
    [InlineData(200, "application/json", """{"data":null,"errors":[{"message":"Not allowed","data":{"error":"not-authorized"}}]}""", "Not allowed (not-authorized)")]
    [InlineData(200, "application/json", """[1,2,3]""", "databases: ")]
    [InlineData(200, "application/json", """{"data":{"databases":"none","organization":"Acme","workspaces":7}}""", "workspaces: ")]
    public async Task Unexpected_answers_become_readable_problems(int status, string mediaType, string body, string expectedProblem)
    {
        await using var services = Reader(_ => new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent(body, Encoding.UTF8, mediaType) });

        var data = await services.GetRequiredService<PitchlyDataReader>().GetDataAsync("orgAcme", TestContext.Current.CancellationToken);

        Assert.Contains(data.Problems, problem => problem.StartsWith(expectedProblem, StringComparison.Ordinal) || problem.Contains(expectedProblem, StringComparison.Ordinal));
        Assert.Empty(data.Databases);
        Assert.Empty(data.Workspaces);
    }

    [Fact]
    public async Task Unreachable_Pitchly_is_a_problem_not_an_exception()
    {
        await using var services = Reader(_ => throw new HttpRequestException("Connection refused"));

        var data = await services.GetRequiredService<PitchlyDataReader>().GetDataAsync("orgAcme", TestContext.Current.CancellationToken);

        Assert.Contains(data.Problems, problem => problem.Contains("could not be reached", StringComparison.Ordinal) && problem.Contains("Connection refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Values_travel_as_variables_and_nulls_and_odd_values_are_shown_as_far_as_they_go()
    {
        var bodies = new List<string>();
        await using var services = Reader(body =>
        {
            lock (bodies)
            {
                bodies.Add(body);
            }

            return Json(body.Contains("query Databases", StringComparison.Ordinal)
                ? """{"data":{"databases":[null,{"_id":"db1","name":null,"fields":[{"_id":"f1","name":"Name"},{"name":"No id"},null],"rows":[{"_id":"r1","cols":[{"fieldId":"f1","value":{"nested":[1,true]}},{"fieldId":null,"value":"lost"},{"value":3}]},{"cols":null}]}]}}"""
                : """{"data":{"organization":{"id":"orgAcme","name":null},"workspaces":null}}""");
        });

        var data = await services.GetRequiredService<PitchlyDataReader>().GetDataAsync("org\"Acme", TestContext.Current.CancellationToken);

        var database = Assert.Single(data.Databases);
        Assert.Equal("(unnamed database)", database.Name);
        Assert.Equal(["Name", "No id"], database.Fields.Select(field => field.Name));
        Assert.Equal(2, database.Rows.Count);
        Assert.Equal("""{"nested":[1,true]}""", database.Rows[0].ValueOf("f1"));
        Assert.Equal(string.Empty, database.Rows[1].ValueOf("f1"));
        Assert.Empty(data.Workspaces);
        Assert.Null(data.OrganizationName);
        Assert.Empty(data.Problems);
        // Two round trips for everything, and the organization id only in the variables, never in the document.
        Assert.Equal(2, bodies.Count);
        var databases = bodies.Single(body => body.Contains("query Databases", StringComparison.Ordinal));
        using var sent = System.Text.Json.JsonDocument.Parse(databases);
        Assert.Equal("org\"Acme", sent.RootElement.GetProperty("variables").GetProperty("organizationId").GetString());
        Assert.DoesNotContain("Acme", sent.RootElement.GetProperty("query").GetString(), StringComparison.Ordinal);
    }

    private static ServiceProvider Reader(Func<string, HttpResponseMessage> answer)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pitchly:ClientId"] = "appReaderTests000001",
            ["Pitchly:ClientSecret"] = "plys_ReaderTestsOnlyNotASecret",
            ["Pitchly:GraphQLEndpoint"] = "http://127.0.0.1:9/graphql",
        }).Build());
        services.AddLogging();
        // The answering handler stands in for the network.
        services.AddPitchlyGraphQLClient(http => http.AddPitchlyApiKey(o => o.AllowCustomPrimaryHandler = true))
            .ConfigurePrimaryHttpMessageHandler(() => new AnsweringHandler(answer));
        services.AddTransient<PitchlyDataReader>();
        return services.BuildServiceProvider();
    }

    private static HttpResponseMessage Json(string body) => new(HttpStatusCode.OK)
    {
        Content = new StringContent(body, Encoding.UTF8, "application/json"),
    };

    private sealed class AnsweringHandler(Func<string, HttpResponseMessage> answer) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
            return answer(body);
        }
    }
}
