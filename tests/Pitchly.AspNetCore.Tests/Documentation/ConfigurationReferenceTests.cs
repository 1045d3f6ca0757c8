using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Pitchly.AspNetCore.Redis;

namespace Pitchly.AspNetCore.Tests.Documentation;

/// <summary>
/// docs/configuration.md against the code: every public <c>*Options</c> type of the packages has a section there, and every
/// property the configuration binder can set appears with its key and its real default. Adding an option without
/// documenting it fails here.
/// </summary>
public sealed partial class ConfigurationReferenceTests
{
    private static readonly Assembly[] PackageAssemblies =
    [
        typeof(PitchlyTokenManagementOptions).Assembly,
        typeof(PitchlyRedisOptions).Assembly,
        typeof(PitchlyEmulatorOptions).Assembly,
    ];

    public static TheoryData<string> OptionsTypes()
    {
        var data = new TheoryData<string>();
        foreach (var type in PackageAssemblies.SelectMany(a => a.GetExportedTypes()).Where(IsOptionsType).OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            data.Add(type.FullName!);
        }

        return data;
    }

    [Fact]
    public void The_packages_have_the_options_types_the_reference_was_written_for_at_least()
    {
        var names = PackageAssemblies.SelectMany(a => a.GetExportedTypes()).Where(IsOptionsType).Select(t => t.Name).ToHashSet();

        Assert.Superset(
            new HashSet<string> { "PitchlyAuthenticationOptions", "PitchlyTokenManagementOptions", "PitchlyGraphQLClientOptions", "PitchlyTokenExchangeOptions", "PitchlyAccessTokenHandlerOptions", "PitchlyRedisOptions", "PitchlyEmulatorOptions" },
            names);
    }

    [Theory]
    [MemberData(nameof(OptionsTypes))]
    public void Every_bindable_option_is_documented_with_its_configuration_key_and_default(string typeName)
    {
        var type = PackageAssemblies.Select(a => a.GetType(typeName)).Single(t => t is not null)!;
        var document = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "configuration.md"));
        var block = Block(document, type.Name);
        Assert.True(block is not null, $"docs/configuration.md has no '## `{type.Name}`' section.");
        var sectionLine = block.Split('\n').FirstOrDefault(line => line.StartsWith("Section:", StringComparison.Ordinal));
        Assert.True(sectionLine is not null, $"The {type.Name} section of docs/configuration.md has no 'Section:' line.");
        var sections = Code().Matches(sectionLine).Select(m => m.Groups[1].Value).ToList();
        var rows = Row().Matches(block).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim(), StringComparer.Ordinal);

        var defaults = Activator.CreateInstance(type)!;
        var missing = new List<string>();
        foreach (var property in BindableProperties(type))
        {
            var keys = sections.Count == 0 ? [property.Name] : sections.Select(section => $"{section}:{property.Name}").ToList();
            var expected = Format(property.GetValue(defaults));
            var key = keys.FirstOrDefault(rows.ContainsKey);
            if (key is null)
            {
                missing.Add($"| `{keys[0]}` | `{expected}` | … | (missing)");
            }
            else if (Unquote(rows[key]) != expected)
            {
                missing.Add($"| `{key}` | `{expected}` | … | (documented default: {rows[key]})");
            }
        }

        Assert.True(missing.Count == 0, $"docs/configuration.md, section {type.Name}, needs:\n" + string.Join('\n', missing));
    }

    /// <summary>What <c>ConfigurationBinder</c> can set from strings: settable scalars, and scalar collections it can fill.</summary>
    private static IEnumerable<PropertyInfo> BindableProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && !p.IsDefined(typeof(ObsoleteAttribute)))
            .Where(p => (p.SetMethod?.IsPublic == true && IsScalar(p.PropertyType)) || IsScalarCollection(p.PropertyType))
            .OrderBy(p => p.Name, StringComparer.Ordinal);

    private static bool IsOptionsType(Type type) =>
        type.IsClass && !type.IsAbstract && type.Name.EndsWith("Options", StringComparison.Ordinal) && type.GetConstructor(Type.EmptyTypes) is not null;

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(Uri) || type == typeof(PathString) || type == typeof(DateTimeOffset);
    }

    private static bool IsScalarCollection(Type type)
    {
        if (type == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(type))
        {
            return false;
        }

        var enumerable = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>)
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        var element = enumerable?.GetGenericArguments()[0];
        if (element is { IsGenericType: true } && element.GetGenericTypeDefinition() == typeof(KeyValuePair<,>))
        {
            return element.GetGenericArguments().All(IsScalar);
        }

        return element is not null && IsScalar(element);
    }

    private static string Format(object? value) => value switch
    {
        null => "—",
        string { Length: 0 } => "—",
        string text => text,
        bool flag => flag ? "true" : "false",
        TimeSpan span => span.ToString("c", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        IDictionary dictionary => dictionary.Count == 0 ? "—" : string.Join(", ", dictionary.Keys.Cast<object>().Select(k => $"{k}={dictionary[k]}").Order(StringComparer.Ordinal)),
        IEnumerable sequence => sequence.Cast<object>().Select(Format).Order(StringComparer.Ordinal).ToList() is { Count: > 0 } items ? string.Join(", ", items) : "—",
        _ => value.ToString() is { Length: > 0 } text ? text : "—",
    };

    private static string Unquote(string cell) => cell.Trim().Trim('`').Trim();

    private static string? Block(string document, string typeName)
    {
        var start = document.IndexOf($"## `{typeName}`", StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        var end = document.IndexOf("\n## ", start + 3, StringComparison.Ordinal);
        return end < 0 ? document[start..] : document[start..end];
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Directory.Packages.props")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with Directory.Packages.props) was not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Code();

    // | `Key` | `default` | meaning |
    [GeneratedRegex(@"^\|\s*`([^`]+)`\s*\|([^|]*)\|", RegexOptions.Multiline)]
    private static partial Regex Row();
}
