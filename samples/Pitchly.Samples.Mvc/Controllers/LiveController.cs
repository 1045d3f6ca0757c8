using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Pitchly.AspNetCore;
using Pitchly.Samples.Shared;

namespace Pitchly.Samples.Mvc.Controllers;

/// <summary>
/// <c>/live</c>: the first legacy database's rows, kept current in the browser. The server subscribes to Pitchly over
/// graphql-ws as the signed-in user and forwards each change to the page as a Server-Sent Event.
/// </summary>
[Authorize]
public sealed class LiveController(PitchlyDataReader pitchly, PitchlyRowWatcher watcher) : Controller
{
    [HttpGet("/live")]
    public async Task<IActionResult> Index(CancellationToken cancellationToken)
    {
        var organizationId = User.FindFirst(PitchlyClaimTypes.OrganizationId)?.Value;
        var problems = new List<string>();
        var databases = string.IsNullOrEmpty(organizationId)
            ? []
            : await pitchly.GetDatabasesAsync(organizationId, problems, cancellationToken);
        return View((databases.FirstOrDefault(), (IReadOnlyList<string>)problems));
    }

    [HttpGet("/live/events")]
    public IResult Events(string databaseId) =>
        TypedResults.ServerSentEvents(Forward(databaseId, HttpContext.RequestAborted));

    private async IAsyncEnumerable<SseItem<RowsChange>> Forward(string databaseId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // A first event sends the response's headers at once, so the browser knows the stream is open while the server
        // connects to Pitchly.
        yield return new SseItem<RowsChange>(new RowsChange("SUBSCRIBING", [], []), "hello");
        await foreach (var change in watcher.WatchAsync(databaseId, cancellationToken))
        {
            yield return new SseItem<RowsChange>(change, "rows");
        }
    }
}
