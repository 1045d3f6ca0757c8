using System.Diagnostics.Metrics;

namespace Pitchly.AspNetCore.Tests.Documentation;

public sealed class TelemetryReferenceTests
{
    [Fact]
    public void Every_instrument_is_documented_in_the_telemetry_reference_with_its_unit()
    {
        using var services = new ServiceCollection().AddMetrics().AddSingleton<PitchlyMetrics>().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var instruments = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                // Only this provider's meter: other tests create their own at the same time.
                if (instrument.Meter.Name == PitchlyTelemetry.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    lock (instruments)
                    {
                        instruments.Add(instrument);
                    }
                }
            },
        };
        listener.Start();
        services.GetRequiredService<PitchlyMetrics>();
        var rows = File.ReadAllLines(Path.Combine(Root(), "docs", "telemetry.md"))
            .Where(line => line.StartsWith("| `pitchly.", StringComparison.Ordinal))
            .Select(line => line.Split('|', StringSplitOptions.TrimEntries))
            .ToDictionary(cells => cells[1].Trim('`'), cells => cells[3].Trim('`'), StringComparer.Ordinal);

        Assert.NotEmpty(instruments);
        Assert.All(instruments, instrument =>
        {
            Assert.True(rows.TryGetValue(instrument.Name, out var unit), $"docs/telemetry.md does not list {instrument.Name}.");
            Assert.Equal(instrument.Unit, unit);
            Assert.Matches("^pitchly(\\.[a-z][a-z_]*)+$", instrument.Name);
        });
        Assert.Equal(rows.Keys.Order(StringComparer.Ordinal), instruments.Select(i => i.Name).Order(StringComparer.Ordinal));
    }

    private static string Root()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Directory.Packages.props")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root was not found.");
    }
}
