namespace Pitchly.Samples.Shared;

/// <summary>
/// The samples' GraphQL documents. Values travel as GraphQL variables, never spliced into the text; each document
/// asks for everything it shows in one round trip, nesting the children (rows, tables, records) in their parents.
/// </summary>
public static class PitchlyQueries
{
    /// <summary>The organization the token belongs to.</summary>
    public const string Organization = "query Organization { organization { id name } }";

    /// <summary>Legacy API: the organization's databases with their fields and rows. Variable: <c>organizationId</c>.</summary>
    public const string Databases = """
        query Databases($organizationId: ID!) {
          databases(organizationId: $organizationId) {
            _id name
            fields { _id name type }
            rows { _id cols { fieldId value } }
          }
        }
        """;

    /// <summary>Current platform: the organization with its workspaces, their tables, fields and records.</summary>
    public const string Workspaces = """
        query Workspaces {
          organization { id name }
          workspaces {
            id name
            tables { id name fields { id name type } records { id fields { fieldId value } } }
          }
        }
        """;

    /// <summary>Legacy API: adds a row. Variables: <c>databaseId</c>, <c>row</c> (<c>{ cols: [{ fieldId, value }] }</c>).</summary>
    public const string InsertRow = """
        mutation InsertRow($databaseId: ID!, $row: RowInput!) {
          insertRow(databaseId: $databaseId, row: $row) { _id }
        }
        """;

    /// <summary>Legacy API: changes a row. Variables: <c>databaseId</c>, <c>rowId</c>, <c>row</c>.</summary>
    public const string UpdateRow = """
        mutation UpdateRow($databaseId: ID!, $rowId: ID!, $row: RowInput!) {
          updateRow(databaseId: $databaseId, rowId: $rowId, row: $row) { _id }
        }
        """;

    /// <summary>Legacy API: every change to a database's rows, as it happens. Variable: <c>databaseId</c>.</summary>
    public const string DataRowsChanged = """
        subscription DataRowsChanged($databaseId: ID!) {
          dataRowsChanged(databaseId: $databaseId) { databaseId kind rowIds rows { _id cols { fieldId value } } }
        }
        """;
}
