using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Pitchly.AspNetCore.Emulator.Internal.Data;

/// <summary>
/// The seeded organizations: legacy databases (17-character ids) and current workspaces and tables
/// (<c>wsp…</c>/<c>tbl…</c>/<c>fld…</c>/<c>rec…</c> ids). Ids derive from names, so they are the same in every run.
/// </summary>
internal static class SeedData
{
    private const string Alphanumerics = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";

    public static Dictionary<string, OrganizationData> Create()
    {
        var acme = new OrganizationData(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AcmeOrganizationName);
        acme.Databases.Add(Database(acme, "Clients", [("Name", "text"), ("Industry", "text"), ("Annual revenue", "number"), ("Active", "boolean")],
        [
            ["Initech", "Software", 1_200_000, true],
            ["Umbrella Corporation", "Pharmaceuticals", 98_000_000, true],
            ["Hooli", "Internet", 45_500_000, false],
            ["Vandelay Industries", "Import/export", 730_000, true],
            ["Wonka Industries", "Confectionery", 12_800_000, true],
        ]));
        acme.Databases.Add(Database(acme, "Projects", [("Title", "text"), ("Status", "text"), ("Due", "date")],
        [
            ["Quarterly revenue model", "In progress", "2025-07-01"],
            ["Churn dashboard", "Done", "2025-03-15"],
            ["Pricing study", "Planned", "2025-09-30"],
            ["Data warehouse migration", "In progress", "2025-11-01"],
            ["Customer survey", "Done", "2025-02-10"],
        ]));
        acme.Workspaces.Add(Workspace(acme, "Sales",
            Table(acme, "Deals", [("Deal", "text"), ("Stage", "select"), ("Amount", "number")],
            [
                ["Initech renewal", "Won", 120_000],
                ["Hooli expansion", "Negotiation", 340_000],
                ["Wonka pilot", "Qualified", 45_000],
                ["Umbrella audit", "Lost", 80_000],
            ]),
            Table(acme, "Contacts", [("Name", "text"), ("Email", "email"), ("Company", "text")],
            [
                ["Bill Lumbergh", "bill@initech.example", "Initech"],
                ["Gavin Belson", "gavin@hooli.example", "Hooli"],
                ["Art Vandelay", "art@vandelay.example", "Vandelay Industries"],
            ])));
        acme.Workspaces.Add(Workspace(acme, "Marketing",
            Table(acme, "Campaigns", [("Campaign", "text"), ("Channel", "select"), ("Budget", "number")],
            [
                ["Spring launch", "E-mail", 15_000],
                ["Analytics webinar", "Events", 8_000],
                ["Partner program", "Partners", 22_000],
            ])));

        var globex = new OrganizationData(PitchlyEmulatorDefaults.GlobexOrganizationId, PitchlyEmulatorDefaults.GlobexOrganizationName);
        globex.Databases.Add(Database(globex, "Experiments", [("Name", "text"), ("Hypothesis", "text"), ("Confirmed", "boolean")],
        [
            ["Bombe timing", "Rotor order can be deduced from cribs", true],
            ["Morphogenesis", "Reaction-diffusion explains stripes", true],
            ["Imitation game", "Judges cannot tell machine from human", false],
            ["Decision problem", "A general procedure exists", false],
            ["Delay-line memory", "Mercury lines store 1 kbit", true],
        ]));
        globex.Databases.Add(Database(globex, "Papers", [("Title", "text"), ("Year", "number"), ("Venue", "text"), ("Citations", "number")],
        [
            ["On Computable Numbers", 1936, "Proceedings of the LMS", 12_000],
            ["Computing Machinery and Intelligence", 1950, "Mind", 20_000],
            ["The Chemical Basis of Morphogenesis", 1952, "Phil. Trans. R. Soc.", 15_000],
            ["Rounding-off Errors in Matrix Processes", 1948, "Q. J. Mech. Appl. Math.", 900],
            ["Systems of Logic Based on Ordinals", 1939, "Proceedings of the LMS", 1_100],
        ]));
        globex.Workspaces.Add(Workspace(globex, "Research",
            Table(globex, "Studies", [("Study", "text"), ("Lead", "person"), ("Status", "select")],
            [
                ["Pattern formation", "Alan Turing", "Active"],
                ["Machine learning", "Alan Turing", "Proposed"],
                ["Cipher analysis", "Alan Turing", "Closed"],
            ])));

        return new Dictionary<string, OrganizationData>(StringComparer.Ordinal)
        {
            [acme.Id] = acme,
            [globex.Id] = globex,
        };
    }

    /// <summary>A random id for rows created at run time: 17 characters, or a 3-letter prefix and 17 characters.</summary>
    public static string NewId(string prefix = "") => prefix + RandomNumberGenerator.GetString(Alphanumerics, 17);

    private static TableData Database(OrganizationData organization, string name, (string Name, string Type)[] fields, object[][] rows)
    {
        var seed = $"{organization.Id}/db/{name}";
        return Fill(new TableData(StableId(seed, string.Empty), name, Fields(seed, fields, string.Empty)), seed, rows, string.Empty);
    }

    private static TableData Table(OrganizationData organization, string name, (string Name, string Type)[] fields, object[][] rows)
    {
        var seed = $"{organization.Id}/table/{name}";
        return Fill(new TableData(StableId(seed, "tbl"), name, Fields(seed, fields, "fld")), seed, rows, "rec");
    }

    private static WorkspaceData Workspace(OrganizationData organization, string name, params TableData[] tables)
    {
        var workspace = new WorkspaceData(StableId($"{organization.Id}/workspace/{name}", "wsp"), name);
        workspace.Tables.AddRange(tables);
        return workspace;
    }

    private static FieldData[] Fields(string seed, (string Name, string Type)[] fields, string prefix) =>
        [.. fields.Select(f => new FieldData(StableId($"{seed}/field/{f.Name}", prefix), f.Name, f.Type))];

    private static TableData Fill(TableData table, string seed, object[][] rows, string rowPrefix)
    {
        for (var i = 0; i < rows.Length; i++)
        {
            var cells = rows[i].Select((value, column) => new CellData(table.Fields[column].Id, ToNode(value))).ToArray();
            table.Rows.Add(new RowData(StableId($"{seed}/row/{i}", rowPrefix), cells));
        }

        return table;
    }

    private static JsonValue ToNode(object value) => value switch
    {
        string text => JsonValue.Create(text),
        int number => JsonValue.Create(number),
        bool flag => JsonValue.Create(flag),
        _ => throw new ArgumentException($"Seed values are strings, integers or booleans, not {value.GetType()}.", nameof(value)),
    };

    private static string StableId(string seed, string prefix)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(seed));
        var id = new StringBuilder(prefix, prefix.Length + 17);
        for (var i = 0; i < 17; i++)
        {
            id.Append(Alphanumerics[hash[i] % Alphanumerics.Length]);
        }

        return id.ToString();
    }
}
