using Pitchly.AspNetCore.Emulator.Internal.Data;

namespace Pitchly.AspNetCore.Emulator.Internal.Subscriptions;

/// <summary>What happened to the rows (records) of an event.</summary>
internal enum ChangeKind
{
    Inserted,
    Updated,
    Deleted,
}

/// <summary>Rows of a legacy database or records of a table changed: the rows as they are now, and every changed id.</summary>
internal sealed record DataChange(string OrganizationId, TableData Table, ChangeKind Kind, IReadOnlyList<RowData> Rows, IReadOnlyList<string> RowIds);

/// <summary>
/// The emulator's data events: mutations and <see cref="PitchlyEmulator.InsertRow"/> publish, subscriptions watch one
/// database or table of one organization. Observers are called on the publisher's thread and must not block.
/// </summary>
internal sealed class EmulatorEvents
{
    private readonly Lock _sync = new();
    private Watcher[] _watchers = [];

    public int WatcherCount => Volatile.Read(ref _watchers).Length;

    public void Publish(DataChange change)
    {
        foreach (var watcher in Volatile.Read(ref _watchers))
        {
            if (watcher.OrganizationId == change.OrganizationId && watcher.TableId == change.Table.Id)
            {
                watcher.Observer.OnNext(watcher.Project(change));
            }
        }
    }

    /// <summary>A stream of one table's changes, projected; each subscription to it watches until disposed.</summary>
    public IObservable<object?> Watch(string organizationId, string tableId, Func<DataChange, object?> project) =>
        new Stream(this, organizationId, tableId, project);

    private void Add(Watcher watcher)
    {
        lock (_sync)
        {
            _watchers = [.. _watchers, watcher];
        }
    }

    private void Remove(Watcher watcher)
    {
        lock (_sync)
        {
            _watchers = [.. _watchers.Where(w => !ReferenceEquals(w, watcher))];
        }
    }

    private sealed class Watcher(string organizationId, string tableId, Func<DataChange, object?> project, IObserver<object?> observer)
    {
        public string OrganizationId { get; } = organizationId;

        public string TableId { get; } = tableId;

        public Func<DataChange, object?> Project { get; } = project;

        public IObserver<object?> Observer { get; } = observer;
    }

    private sealed class Stream(EmulatorEvents events, string organizationId, string tableId, Func<DataChange, object?> project) : IObservable<object?>
    {
        public IDisposable Subscribe(IObserver<object?> observer)
        {
            var watcher = new Watcher(organizationId, tableId, project, observer);
            events.Add(watcher);
            return new Subscription(events, watcher);
        }
    }

    private sealed class Subscription(EmulatorEvents events, Watcher watcher) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                events.Remove(watcher);
            }
        }
    }
}
