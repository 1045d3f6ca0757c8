namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>Records every log entry of an instance, and can run a callback as each is written (to time a race).</summary>
public sealed class CapturedLogs(Action<CapturedLogs.Entry>? onLog = null) : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> _entries = new();
    private readonly Action<Entry>? _onLog = onLog;

    public IReadOnlyCollection<Entry> Entries => _entries.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public sealed record Entry(string Category, int EventId, LogLevel Level, string Message, Exception? Exception)
    {
        public override string ToString() => $"{Category} [{EventId}] {Level}: {Message} {Exception}";
    }

    private sealed class Logger(CapturedLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var entry = new Entry(category, eventId.Id, logLevel, formatter(state, exception), exception);
            logs._entries.Enqueue(entry);
            logs._onLog?.Invoke(entry);
        }
    }
}
