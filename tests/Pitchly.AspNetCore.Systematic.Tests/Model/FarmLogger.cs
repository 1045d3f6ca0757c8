using Microsoft.Extensions.Logging;

namespace Pitchly.AspNetCore.Systematic.Tests.Model;

/// <summary>Writes the package's warnings and the events the properties care about into the schedule's trace.</summary>
internal sealed class FarmLogger(Farm farm, string instance) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            farm.Log($"{instance} [{eventId.Id} {eventId.Name}] {formatter(state, exception)}");
        }
    }
}

internal sealed class FarmLogger<T>(FarmLogger inner) : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => inner.Log(logLevel, eventId, state, exception, formatter);
}
