using System.Runtime.CompilerServices;
using Pitchly.AspNetCore;

namespace Pitchly.Samples.Shared;

/// <summary>
/// Follows a legacy database's rows through the package's <see cref="IPitchlySubscriptionClient"/> (graphql-ws): a
/// token Pitchly rejects on the connection is refreshed and the subscription resumed, as on HTTP calls.
/// </summary>
/// <param name="subscriptions">The client, registered with <c>AddPitchlySubscriptionClient()</c>.</param>
public sealed class PitchlyRowWatcher(IPitchlySubscriptionClient subscriptions)
{
    /// <summary>Yields every change to the rows of <paramref name="databaseId"/>, as the signed-in user, until cancelled.</summary>
    /// <param name="databaseId">The legacy database.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    public async IAsyncEnumerable<RowsChange> WatchAsync(string databaseId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseId);
        var request = new PitchlyGraphQLRequest(PitchlyQueries.DataRowsChanged, new Dictionary<string, object?> { ["databaseId"] = databaseId });
        await foreach (var response in subscriptions.SubscribeAsync(request, SampleJsonContext.Default.RowsChangedData, cancellationToken))
        {
            if (response.Data?.DataRowsChanged is not { } change)
            {
                continue;
            }

            yield return new RowsChange(
                change.Kind ?? "CHANGED",
                [.. (change.RowIds ?? []).OfType<string>()],
                [.. (change.Rows ?? []).OfType<RowData>().Select(row => PitchlyDataReader.ToView(row.Id, row.Cols))]);
        }
    }
}
