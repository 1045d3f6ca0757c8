using System.Reflection;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>Log event ids are a contract (log queries and alerts filter on them): each names one message only.</summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void Every_log_message_of_the_packages_has_an_event_id_of_its_own()
    {
        var assemblies = new[] { typeof(IPitchlyTokenManager).Assembly, typeof(RedisLog).Assembly, typeof(PitchlyEmulator).Assembly };
        var messages = assemblies
            .SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(found => found.Attribute is not null)
            .Select(found => (found.Attribute!.EventId, Name: $"{found.Method.DeclaringType!.FullName}.{found.Method.Name}"))
            .ToList();

        Assert.True(messages.Count > 50, $"Only {messages.Count} log messages were found.");
        var shared = messages.GroupBy(message => message.EventId).Where(group => group.Count() > 1)
            .Select(group => $"{group.Key}: {string.Join(", ", group.Select(message => message.Name))}")
            .ToList();
        Assert.True(shared.Count == 0, "Event ids used by more than one message: " + string.Join("; ", shared));
    }
}
