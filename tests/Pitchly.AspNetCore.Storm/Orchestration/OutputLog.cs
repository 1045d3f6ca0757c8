namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>The last lines a child process wrote, bounded so a chatty process cannot exhaust memory.</summary>
public sealed class OutputLog
{
    private readonly Queue<string> _lines = new();
    private readonly int _capacity;
    private readonly Lock _gate = new();
    private long _dropped;

    /// <summary>Initializes a new instance keeping at most <paramref name="capacity"/> lines.</summary>
    public OutputLog(int capacity = 400) => _capacity = capacity;

    /// <summary>Appends one line, dropping the oldest when full.</summary>
    public void Append(string line)
    {
        lock (_gate)
        {
            if (_lines.Count == _capacity)
            {
                _lines.Dequeue();
                _dropped++;
            }

            _lines.Enqueue(line);
        }
    }

    /// <summary>Gets the first kept line that starts with <paramref name="prefix"/>, or <see langword="null"/>.</summary>
    public string? FindFirst(string prefix)
    {
        lock (_gate)
        {
            return _lines.FirstOrDefault(line => line.StartsWith(prefix, StringComparison.Ordinal));
        }
    }

    /// <summary>Gets the kept lines, saying how many older ones were dropped.</summary>
    public override string ToString()
    {
        lock (_gate)
        {
            var text = new StringBuilder();
            if (_dropped > 0)
            {
                text.Append("… ").Append(_dropped).AppendLine(" earlier lines dropped");
            }

            foreach (var line in _lines)
            {
                text.AppendLine(line);
            }

            return text.ToString();
        }
    }
}
