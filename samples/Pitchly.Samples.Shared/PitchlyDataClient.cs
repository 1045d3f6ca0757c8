using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Pitchly.Samples.Shared;

/// <summary>
/// A small typed client over Pitchly's GraphQL endpoint. The <see cref="HttpClient"/> it is given carries the
/// token (through <c>AddPitchlyUserAccessToken()</c> or <c>AddPitchlyInstallAccessToken(...)</c>); this class only
/// posts queries and reads the answers without trusting their shape, so unexpected data becomes readable problems
/// rather than exceptions.
/// </summary>
public sealed class PitchlyDataClient
{
    /// <summary>Pitchly's current GraphQL endpoint, used when <c>Pitchly:GraphQLEndpoint</c> is not configured.</summary>
    public static readonly Uri DefaultEndpoint = new("https://api.pitchly.com/graphql");

    /// <summary>The largest answer read; larger ones are reported as a problem.</summary>
    public const int MaxResponseBytes = 4 * 1024 * 1024;

    // Each database or table costs a request: a page shows the first few, not an organization's whole history.
    private const int MaxListedItems = 10;

    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json") { CharSet = "utf-8" };

    private readonly HttpClient _httpClient;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="httpClient">A client whose base address is the GraphQL endpoint and whose handlers attach the token.</param>
    public PitchlyDataClient(HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        _httpClient = httpClient;
    }

    /// <summary>Formats <paramref name="value"/> as a GraphQL string literal, quotes and escapes included.</summary>
    /// <param name="value">The text to quote.</param>
    public static string Quote(string value) => GraphQLJson.Literal(value);

    /// <summary>Posts one GraphQL operation and reads the answer.</summary>
    /// <param name="query">The GraphQL document.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The answer; transport failures and non-GraphQL answers come back as <see cref="GraphQLResult.Problem"/>.</returns>
    public async Task<GraphQLResult> SendAsync(string query, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(query);
        using var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(new { query }));
        content.Headers.ContentType = JsonMediaType;
        try
        {
            using var response = await _httpClient.PostAsync((Uri?)null, content, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return GraphQLJson.Parse((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body);
        }
        catch (HttpRequestException exception)
        {
            return GraphQLJson.Failure($"Pitchly could not be reached or its answer could not be read: {exception.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return GraphQLJson.Failure("Pitchly did not answer in time.");
        }
    }

    /// <summary>Reads the organization the token belongs to.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<OrganizationResult> GetOrganizationAsync(CancellationToken cancellationToken = default)
    {
        var result = await SendAsync("{ organization { id name } }", cancellationToken);
        var problems = result.Describe().ToList();
        var organization = GraphQLJson.Object(result.Data, "organization");
        if (result.Data is not null && organization is null)
        {
            problems.Add("Pitchly returned no organization.");
        }

        return new OrganizationResult(GraphQLJson.String(organization, "id"), GraphQLJson.String(organization, "name"), problems);
    }

    /// <summary>
    /// Reads the organization's data from both generations of Pitchly's API: legacy databases with their rows, and
    /// current workspaces with their tables and records. One area failing does not hide the others.
    /// </summary>
    /// <param name="organizationId">The organization whose legacy databases are listed.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    public async Task<DataViewModel> GetDataAsync(string organizationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(organizationId);
        var problems = new List<string>();
        var organization = await GetOrganizationAsync(cancellationToken);
        problems.AddRange(organization.Problems.Select(problem => $"organization: {problem}"));
        var databases = await GetDatabasesAsync(organizationId, problems, cancellationToken);
        var workspaces = await GetWorkspacesAsync(problems, cancellationToken);
        return new DataViewModel(organization.Name, databases, workspaces, problems);
    }

    /// <summary>Lists the organization's legacy databases with their fields and rows.</summary>
    /// <param name="organizationId">The organization id.</param>
    /// <param name="problems">Receives GraphQL errors and unexpected answers.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    public async Task<IReadOnlyList<DatabaseView>> GetDatabasesAsync(string organizationId, ICollection<string> problems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var result = await SendAsync(
            $"{{ databases(organizationId: {GraphQLJson.Literal(organizationId)}) {{ _id name fields {{ _id name type }} }} }}",
            cancellationToken);
        Collect(problems, "databases", result);
        var databases = new List<DatabaseView>();
        foreach (var database in GraphQLJson.Objects(result.Data, "databases").Take(MaxListedItems))
        {
            var id = GraphQLJson.String(database, "_id");
            var name = GraphQLJson.String(database, "name") ?? "(unnamed database)";
            var fields = GraphQLJson.Objects(database, "fields")
                .Select(field => ReadField(field, "_id"))
                .ToList();
            var rows = id is null ? [] : await GetRowsAsync(id, name, problems, cancellationToken);
            databases.Add(new DatabaseView(id ?? "(no id)", name, fields, rows));
        }

        return databases;
    }

    /// <summary>Lists the organization's current-platform workspaces with their tables and records.</summary>
    /// <param name="problems">Receives GraphQL errors and unexpected answers.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    public async Task<IReadOnlyList<WorkspaceView>> GetWorkspacesAsync(ICollection<string> problems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var result = await SendAsync("{ workspaces { id name } }", cancellationToken);
        Collect(problems, "workspaces", result);
        var workspaces = new List<WorkspaceView>();
        foreach (var listed in GraphQLJson.Objects(result.Data, "workspaces").Take(MaxListedItems))
        {
            var id = GraphQLJson.String(listed, "id");
            var name = GraphQLJson.String(listed, "name") ?? "(unnamed workspace)";
            var tables = id is null ? [] : await GetTablesAsync(id, name, problems, cancellationToken);
            workspaces.Add(new WorkspaceView(id ?? "(no id)", name, tables));
        }

        return workspaces;
    }

    private async Task<IReadOnlyList<RecordView>> GetRowsAsync(string databaseId, string databaseName, ICollection<string> problems, CancellationToken cancellationToken)
    {
        var result = await SendAsync(
            $"{{ rows(databaseId: {GraphQLJson.Literal(databaseId)}) {{ _id cols {{ fieldId value }} }} }}",
            cancellationToken);
        Collect(problems, $"rows of {databaseName}", result);
        return GraphQLJson.Objects(result.Data, "rows").Select(row => ReadRecord(row, "_id", "cols")).ToList();
    }

    private async Task<IReadOnlyList<TableView>> GetTablesAsync(string workspaceId, string workspaceName, ICollection<string> problems, CancellationToken cancellationToken)
    {
        var result = await SendAsync(
            $"{{ workspace(id: {GraphQLJson.Literal(workspaceId)}) {{ id name tables {{ id name fields {{ id name type }} }} }} }}",
            cancellationToken);
        Collect(problems, $"workspace {workspaceName}", result);
        var tables = new List<TableView>();
        foreach (var table in GraphQLJson.Objects(GraphQLJson.Object(result.Data, "workspace"), "tables").Take(MaxListedItems))
        {
            var id = GraphQLJson.String(table, "id");
            var name = GraphQLJson.String(table, "name") ?? "(unnamed table)";
            var fields = GraphQLJson.Objects(table, "fields").Select(field => ReadField(field, "id")).ToList();
            var records = id is null ? [] : await GetRecordsAsync(id, name, problems, cancellationToken);
            tables.Add(new TableView(id ?? "(no id)", name, fields, records));
        }

        return tables;
    }

    private async Task<IReadOnlyList<RecordView>> GetRecordsAsync(string tableId, string tableName, ICollection<string> problems, CancellationToken cancellationToken)
    {
        var result = await SendAsync(
            $"{{ table(id: {GraphQLJson.Literal(tableId)}) {{ id records {{ id fields {{ fieldId value }} }} }} }}",
            cancellationToken);
        Collect(problems, $"records of {tableName}", result);
        return GraphQLJson.Objects(GraphQLJson.Object(result.Data, "table"), "records")
            .Select(record => ReadRecord(record, "id", "fields"))
            .ToList();
    }

    private static FieldView ReadField(JsonElement field, string idMember) => new(
        GraphQLJson.String(field, idMember) ?? string.Empty,
        GraphQLJson.String(field, "name") ?? "(unnamed field)",
        GraphQLJson.String(field, "type") ?? string.Empty);

    private static RecordView ReadRecord(JsonElement record, string idMember, string cellsMember)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var cell in GraphQLJson.Objects(record, cellsMember))
        {
            var fieldId = GraphQLJson.String(cell, "fieldId");
            if (fieldId is not null)
            {
                values[fieldId] = cell.TryGetProperty("value", out var value) ? GraphQLJson.Text(value) ?? string.Empty : string.Empty;
            }
        }

        return new RecordView(GraphQLJson.String(record, idMember) ?? "(no id)", values);
    }

    private static void Collect(ICollection<string> problems, string area, GraphQLResult result)
    {
        foreach (var problem in result.Describe())
        {
            problems.Add($"{area}: {problem}");
        }
    }
}
