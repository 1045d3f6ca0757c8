using System.Diagnostics.Metrics;
using System.Runtime.ExceptionServices;

namespace Pitchly.AspNetCore.Redis.Tests.Telemetry;

/// <summary>
/// Everything a run writes that an operator could read: log messages, their structured values, scopes and exceptions
/// (at Trace), every exception thrown in the process, every metric tag and every span's names, tags, events and status.
/// Each captured string is labelled with where it came from.
/// </summary>
public sealed class TelemetryCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Source, string Text)> _captured = new();
    private readonly MeterListener _meters;
    private readonly ActivityListener _activities;

    public TelemetryCapture()
    {
        _meters = new MeterListener { InstrumentPublished = (instrument, listener) => listener.EnableMeasurementEvents(instrument) };
        _meters.SetMeasurementEventCallback<long>((instrument, _, tags, _) => Tags($"metric {instrument.Name}", tags));
        _meters.SetMeasurementEventCallback<int>((instrument, _, tags, _) => Tags($"metric {instrument.Name}", tags));
        _meters.SetMeasurementEventCallback<double>((instrument, _, tags, _) => Tags($"metric {instrument.Name}", tags));
        _meters.Start();

        _activities = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                var source = $"span {activity.Source.Name}/{activity.DisplayName}";
                Add(source, activity.DisplayName);
                Add(source, activity.OperationName);
                Add(source, activity.StatusDescription);
                foreach (var tag in activity.TagObjects)
                {
                    Add(source, $"{tag.Key}={tag.Value}");
                }

                foreach (var item in activity.Baggage)
                {
                    Add(source, $"{item.Key}={item.Value}");
                }

                foreach (var activityEvent in activity.Events)
                {
                    Add(source, activityEvent.Name);
                    foreach (var tag in activityEvent.Tags)
                    {
                        Add(source, $"{tag.Key}={tag.Value}");
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(_activities);
        AppDomain.CurrentDomain.FirstChanceException += OnException;
    }

    public IReadOnlyList<(string Source, string Text)> Captured => [.. _captured];

    public void Add(string source, string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            _captured.Enqueue((source, text));
        }
    }

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public void Dispose()
    {
        AppDomain.CurrentDomain.FirstChanceException -= OnException;
        _activities.Dispose();
        _meters.Dispose();
    }

    private void OnException(object? sender, FirstChanceExceptionEventArgs e)
    {
        for (var exception = e.Exception; exception is not null; exception = exception.InnerException)
        {
            Add($"exception {exception.GetType().Name}", exception.Message);
        }
    }

    private void Tags(string source, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            Add(source, $"{tag.Key}={tag.Value}");
        }
    }

    private sealed class CapturingLogger(TelemetryCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            capture.Add($"log scope {category}", Describe(state));
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var source = $"log {category}#{eventId.Id}";
            capture.Add(source, formatter(state, exception));
            capture.Add($"log state {category}#{eventId.Id}", Describe(state));
            capture.Add(source, exception?.ToString());
        }

        private static string? Describe(object? state)
        {
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                return string.Join("; ", values.Select(value => $"{value.Key}={Stringify(value.Value)}"));
            }

            return state?.ToString();
        }

        private static string? Stringify(object? value) => value switch
        {
            null => null,
            string text => text,
            System.Collections.IEnumerable sequence => string.Join(",", sequence.Cast<object?>()),
            // A structured logger serializes what it gets: the package's own types are serialized here too.
            _ when value.GetType().Namespace?.StartsWith("Pitchly", StringComparison.Ordinal) == true => TryJson(value),
            _ => value.ToString(),
        };

        private static string? TryJson(object value)
        {
            try
            {
                return value + " " + JsonSerializer.Serialize(value, value.GetType());
            }
            catch (Exception exception) when (exception is NotSupportedException or InvalidOperationException or JsonException or ArgumentException)
            {
                return value.ToString();
            }
        }
    }
}
