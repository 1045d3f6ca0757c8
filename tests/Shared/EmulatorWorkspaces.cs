using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Pitchly.AspNetCore.Emulator;

namespace Pitchly.AspNetCore.TestSupport;

/// <summary>
/// Reads the ids of an organization's workspaces from the emulator's GraphQL API, as an app would, with an App SDK token of
/// that organization: what a page may post as the install's <c>databaseId</c>, and Pitchly can confirm.
/// </summary>
public static class EmulatorWorkspaces
{
    /// <summary>Returns the ids of <paramref name="organizationId"/>'s workspaces, in the emulator's order.</summary>
    public static async Task<string[]> IdsAsync(PitchlyEmulatorServer server, string organizationId, CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, PitchlyEmulatorDefaults.GraphQLPath))
        {
            Content = new StringContent("""{"query":"{ workspaces { id } }"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.Emulator.IssueAppSdkToken(organizationId));
        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return [.. answer.RootElement.GetProperty("data").GetProperty("workspaces").EnumerateArray().Select(w => w.GetProperty("id").GetString()!)];
    }

    /// <summary>Returns the id of <paramref name="organizationId"/>'s first workspace.</summary>
    public static async Task<string> FirstIdAsync(PitchlyEmulatorServer server, string organizationId, CancellationToken cancellationToken) =>
        (await IdsAsync(server, organizationId, cancellationToken))[0];
}
