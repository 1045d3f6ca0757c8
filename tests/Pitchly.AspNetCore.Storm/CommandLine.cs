namespace Pitchly.AspNetCore.Storm;

/// <summary>
/// The harness's command line: <c>--name value</c> pairs and bare <c>--flag</c>s. Unknown or malformed arguments are
/// reported with what to fix.
/// </summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private CommandLine()
    {
    }

    /// <summary>Parses <paramref name="args"/>; a value never starts with <c>--</c>.</summary>
    /// <exception cref="UsageException">An argument is not of the form <c>--name [value]</c> or is repeated.</exception>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var line = new CommandLine();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || name.Length == 2)
            {
                throw new UsageException($"Unexpected argument '{name}': arguments are '--name value' pairs or '--flag's.");
            }

            string? value = null;
            if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }

            if (!line._values.TryAdd(name[2..], value))
            {
                throw new UsageException($"'{name}' is given twice.");
            }
        }

        return line;
    }

    /// <summary>Gets whether the bare flag <c>--<paramref name="name"/></c> was given.</summary>
    public bool Flag(string name)
    {
        _read.Add(name);
        if (_values.TryGetValue(name, out var value) && value is not null)
        {
            throw new UsageException($"'--{name}' is a flag and takes no value (got '{value}').");
        }

        return _values.ContainsKey(name);
    }

    /// <summary>Gets the text of <c>--<paramref name="name"/></c>, or <see langword="null"/> when absent.</summary>
    public string? Text(string name)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out var value))
        {
            return null;
        }

        return value ?? throw new UsageException($"'--{name}' needs a value.");
    }

    /// <summary>Gets the text of <c>--<paramref name="name"/></c>, which must be given.</summary>
    public string RequiredText(string name) => Text(name) ?? throw new UsageException($"'--{name}' is required.");

    /// <summary>Gets the whole number <c>--<paramref name="name"/></c>, within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int Integer(string name, int defaultValue, int min, int max)
    {
        var text = Text(name);
        if (text is null)
        {
            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"'--{name}' must be a whole number from {min} to {max} (got '{text}').");
        }

        return value;
    }

    /// <summary>Gets the fraction <c>--<paramref name="name"/></c>, from 0 to 1.</summary>
    public double Fraction(string name, double defaultValue)
    {
        var text = Text(name);
        if (text is null)
        {
            return defaultValue;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value is < 0 or > 1)
        {
            throw new UsageException($"'--{name}' must be a number from 0 to 1 (got '{text}').");
        }

        return value;
    }

    /// <summary>Gets the number <c>--<paramref name="name"/></c>, within [<paramref name="min"/>, <paramref name="max"/>], or <see langword="null"/> when absent.</summary>
    public double? Number(string name, double min, double max)
    {
        var text = Text(name);
        if (text is null)
        {
            return null;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"'--{name}' must be a number from {min} to {max} (got '{text}').");
        }

        return value;
    }

    /// <summary>Gets the number of seconds <c>--<paramref name="name"/></c>, within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public TimeSpan Seconds(string name, double defaultValue, double min, double max)
    {
        var text = Text(name);
        if (text is null)
        {
            return TimeSpan.FromSeconds(defaultValue);
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"'--{name}' must be a number of seconds from {min} to {max} (got '{text}').");
        }

        return TimeSpan.FromSeconds(value);
    }

    /// <summary>Gets every <c>--{prefix}name value</c> pair as (name, value).</summary>
    public IReadOnlyList<(string Name, string Value)> Prefixed(string prefix)
    {
        var pairs = new List<(string, string)>();
        foreach (var name in _values.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            pairs.Add((name[prefix.Length..], RequiredText(name)));
        }

        return pairs;
    }

    /// <summary>Throws when an argument was given that the selected mode does not read (most likely a typo).</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_read.Contains(k)).Select(k => "--" + k).ToList();
        if (unknown.Count > 0)
        {
            throw new UsageException($"Unknown argument(s): {string.Join(", ", unknown)}.");
        }
    }
}
