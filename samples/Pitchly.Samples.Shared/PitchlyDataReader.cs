using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Pitchly.AspNetCore;

namespace Pitchly.Samples.Shared;

/// <summary>
/// Reads and writes the samples' Pitchly data through the package's <see cref="IPitchlyGraphQLClient"/>, whose handler
/// attaches the token and refreshes and replays invisibly. What Pitchly did not answer as expected (GraphQL errors,
/// an answer that is not GraphQL, Pitchly unreachable) becomes readable problems for the page, and one area failing
/// does not hide the others. A user who must sign in again still gets <see cref="PitchlySignInRequiredException"/>,
/// which <c>UsePitchlySignInRequiredChallenge()</c> turns into a sign-in; a failure of the token store or of Pitchly's
/// token endpoint (retryable) is left to it too, which answers 503 with <c>Retry-After</c>.
/// </summary>
/// <param name="graphQL">The client, registered with <c>AddPitchlyGraphQLClient(...)</c>.</param>
public sealed class PitchlyDataReader(IPitchlyGraphQLClient graphQL)
{
    /// <summary>Reads the organization the token belongs to.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<OrganizationResult> GetOrganizationAsync(CancellationToken cancellationToken = default)
    {
        var problems = new List<string>();
        var data = await SendAsync(new PitchlyGraphQLRequest(PitchlyQueries.Organization), SampleJsonContext.Default.OrganizationQueryData, "organization", problems, cancellationToken);
        if (data is not null && data.Organization is null)
        {
            problems.Add("organization: Pitchly returned no organization.");
        }

        return new OrganizationResult(data?.Organization?.Id, data?.Organization?.Name, problems);
    }

    /// <summary>
    /// Reads the organization's data from both generations of Pitchly's API, in two concurrent round trips: the legacy
    /// databases with their rows, and the current workspaces with their tables and records.
    /// </summary>
    /// <param name="organizationId">The organization whose legacy databases are listed.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    public async Task<DataViewModel> GetDataAsync(string organizationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(organizationId);
        var databaseProblems = new List<string>();
        var workspaceProblems = new List<string>();
        var databases = GetDatabasesAsync(organizationId, databaseProblems, cancellationToken);
        var workspaces = SendAsync(new PitchlyGraphQLRequest(PitchlyQueries.Workspaces), SampleJsonContext.Default.WorkspacesData, "workspaces", workspaceProblems, cancellationToken);
        await Task.WhenAll(databases, workspaces);

        var current = await workspaces;
        var workspaceViews = (current?.Workspaces ?? [])
            .OfType<WorkspaceData>()
            .Select(workspace => new WorkspaceView(
                workspace.Id ?? "(no id)",
                workspace.Name ?? "(unnamed workspace)",
                [.. (workspace.Tables ?? []).OfType<TableData>().Select(table => new TableView(
                    table.Id ?? "(no id)",
                    table.Name ?? "(unnamed table)",
                    [.. (table.Fields ?? []).OfType<FieldData>().Select(field => new FieldView(field.Id ?? string.Empty, field.Name ?? "(unnamed field)", field.Type ?? string.Empty))],
                    [.. (table.Records ?? []).OfType<RecordData>().Select(record => ToView(record.Id, record.Fields))]))]))
            .ToList();
        return new DataViewModel(current?.Organization?.Name, await databases, workspaceViews, [.. databaseProblems, .. workspaceProblems]);
    }

    /// <summary>Lists the organization's legacy databases with their fields and rows, in one round trip.</summary>
    /// <param name="organizationId">The organization id.</param>
    /// <param name="problems">Receives GraphQL errors and unexpected answers.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<IReadOnlyList<DatabaseView>> GetDatabasesAsync(string organizationId, ICollection<string> problems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var request = new PitchlyGraphQLRequest(PitchlyQueries.Databases, new Dictionary<string, object?> { ["organizationId"] = organizationId });
        var data = await SendAsync(request, SampleJsonContext.Default.DatabasesData, "databases", problems, cancellationToken);
        return (data?.Databases ?? [])
            .OfType<DatabaseData>()
            .Select(database => new DatabaseView(
                database.Id ?? "(no id)",
                database.Name ?? "(unnamed database)",
                [.. (database.Fields ?? []).OfType<LegacyFieldData>().Select(field => new FieldView(field.Id ?? string.Empty, field.Name ?? "(unnamed field)", field.Type ?? string.Empty))],
                [.. (database.Rows ?? []).OfType<RowData>().Select(row => ToView(row.Id, row.Cols))]))
            .ToList();
    }

    /// <summary>Writes one text cell of a legacy row: inserts a row when <paramref name="rowId"/> is null, updates it otherwise.</summary>
    /// <param name="databaseId">The database.</param>
    /// <param name="rowId">The row to update, or <see langword="null"/> to insert one.</param>
    /// <param name="fieldId">The cell's field.</param>
    /// <param name="value">The cell's text.</param>
    /// <param name="problems">Receives GraphQL errors and unexpected answers.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The id of the row written, or <see langword="null"/> when it was not written.</returns>
    public async Task<string?> WriteRowAsync(string databaseId, string? rowId, string fieldId, string value, ICollection<string> problems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var variables = new Dictionary<string, object?>
        {
            ["databaseId"] = databaseId,
            ["row"] = new JsonObject { ["cols"] = new JsonArray(new JsonObject { ["fieldId"] = fieldId, ["value"] = value }) },
        };
        if (rowId is not null)
        {
            variables["rowId"] = rowId;
        }

        var request = new PitchlyGraphQLRequest(rowId is null ? PitchlyQueries.InsertRow : PitchlyQueries.UpdateRow, variables);
        var data = await SendAsync(request, SampleJsonContext.Default.RowMutationData, rowId is null ? "insertRow" : "updateRow", problems, cancellationToken);
        return (data?.InsertRow ?? data?.UpdateRow)?.Id;
    }

    private async Task<TData?> SendAsync<TData>(PitchlyGraphQLRequest request, JsonTypeInfo<TData> type, string area, ICollection<string> problems, CancellationToken cancellationToken)
        where TData : class
    {
        try
        {
            var response = await graphQL.SendAsync(request, type, cancellationToken);
            foreach (var error in response.Errors)
            {
                problems.Add($"{area}: {error}");
            }

            return response.Data;
        }
        catch (PitchlyGraphQLException exception)
        {
            // Not a GraphQL answer (HTML from a proxy, too large, JSON of another shape): the message says which.
            problems.Add($"{area}: {exception.Message}");
        }
        catch (HttpRequestException exception)
        {
            problems.Add($"{area}: Pitchly could not be reached or its answer could not be read: {exception.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            problems.Add($"{area}: Pitchly did not answer in time.");
        }

        return null;
    }

    internal static RecordView ToView(string? id, IReadOnlyList<CellData?>? cells)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var cell in (cells ?? []).OfType<CellData>())
        {
            if (cell.FieldId is not null)
            {
                values[cell.FieldId] = Text(cell.Value) ?? string.Empty;
            }
        }

        return new RecordView(id ?? "(no id)", values);
    }

    // A cell value as text: strings as they are, null as nothing, anything else as its JSON.
    private static string? Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => value.GetRawText(),
    };
}
