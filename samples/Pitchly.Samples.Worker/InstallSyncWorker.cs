using System.Globalization;
using Microsoft.Extensions.Options;
using Pitchly.Samples.Shared;

namespace Pitchly.Samples.Worker;

/// <summary>
/// On a timer, with no user present, reads the install's Pitchly data (legacy databases and current workspaces) and
/// writes a heartbeat row into its first database: inserted the first time, updated afterwards.
/// </summary>
public sealed partial class InstallSyncWorker(
    IServiceScopeFactory scopes,
    IOptions<InstallSyncOptions> options,
    TimeProvider timeProvider,
    ILogger<InstallSyncWorker> logger) : BackgroundService
{
    /// <summary>The text every heartbeat row starts with, so the worker finds its own row again.</summary>
    public const string HeartbeatPrefix = "Heartbeat from the install sync worker";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, timeProvider);
        do
        {
            try
            {
                await SyncOnceAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // One failed sync (Pitchly down, install revoked) must not stop the next ones.
                LogSyncFailed(exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task SyncOnceAsync(CancellationToken cancellationToken)
    {
        // A fresh reader per sync: its typed HttpClient then follows IHttpClientFactory's handler rotation.
        using var scope = scopes.CreateScope();
        var pitchly = scope.ServiceProvider.GetRequiredService<PitchlyDataReader>();
        var organizationId = options.Value.OrganizationId;
        var data = await pitchly.GetDataAsync(organizationId, cancellationToken);
        var (databases, workspaces, problems) = (data.Databases, data.Workspaces, data.Problems.ToList());
        LogRead(
            organizationId,
            databases.Count,
            databases.Sum(database => database.Rows.Count),
            workspaces.Sum(workspace => workspace.Tables.Count),
            workspaces.Sum(workspace => workspace.Tables.Sum(table => table.Records.Count)));

        if (databases.FirstOrDefault(database => database.Fields.Count > 0) is { } target)
        {
            await WriteHeartbeatAsync(pitchly, target, problems, cancellationToken);
        }
        else
        {
            problems.Add("No database with fields to write the heartbeat to.");
        }

        foreach (var problem in problems)
        {
            LogProblem(problem);
        }
    }

    private async Task WriteHeartbeatAsync(PitchlyDataReader pitchly, DatabaseView database, List<string> problems, CancellationToken cancellationToken)
    {
        var field = database.Fields[0];
        var text = $"{HeartbeatPrefix} at {timeProvider.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)}";
        var existing = database.Rows.FirstOrDefault(row => row.ValueOf(field.Id).StartsWith(HeartbeatPrefix, StringComparison.Ordinal));
        var written = await pitchly.WriteRowAsync(database.Id, existing?.Id, field.Id, text, problems, cancellationToken);
        if (written is not null)
        {
            LogHeartbeatWritten(existing is null ? "Inserted" : "Updated", database.Name);
        }
    }

    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Read organization {OrganizationId}: {Databases} databases with {Rows} rows, {Tables} tables with {Records} records")]
    private partial void LogRead(string organizationId, int databases, int rows, int tables, int records);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "{Action} the heartbeat row in database {Database}")]
    private partial void LogHeartbeatWritten(string action, string database);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Pitchly did not answer as expected: {Problem}")]
    private partial void LogProblem(string problem);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "The sync failed; the next one runs on schedule")]
    private partial void LogSyncFailed(Exception exception);
}
