using System.Text.Encodings.Web;
using System.Text.Json;
using GraphQL;
using GraphQL.Execution;
using GraphQL.SystemTextJson;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>Runs GraphQL operations against <see cref="EmulatorSchema"/> with GraphQL.NET and writes their results.</summary>
internal static class EmulatorGraphQL
{
    private static readonly DocumentExecuter Executer = new();
    private static readonly GraphQLSerializer PlatformSerializer = CreateSerializer(PitchlyEmulatorErrorStyle.Platform);
    private static readonly GraphQLSerializer LegacySerializer = CreateSerializer(PitchlyEmulatorErrorStyle.Legacy);

    /// <summary>Gets options for writing the emulator's own JSON next to GraphQL.NET's (same escaping).</summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Gets the serializer that writes results and errors in an error style, and reads variables.</summary>
    public static GraphQLSerializer Serializer(PitchlyEmulatorErrorStyle style) =>
        style == PitchlyEmulatorErrorStyle.Legacy ? LegacySerializer : PlatformSerializer;

    public static Task<ExecutionResult> ExecuteAsync(
        string query,
        Inputs? variables,
        string? operationName,
        EmulatorUserContext userContext,
        IDocumentExecutionListener? listener,
        CancellationToken cancellationToken)
    {
        var options = new ExecutionOptions
        {
            Schema = EmulatorSchema.Instance,
            Query = query,
            Variables = variables,
            OperationName = string.IsNullOrEmpty(operationName) ? null : operationName,
            UserContext = userContext,
            CancellationToken = cancellationToken,
            ThrowOnUnhandledException = false,
        };
        if (listener is not null)
        {
            options.Listeners.Add(listener);
        }

        return Executer.ExecuteAsync(options);
    }

    private static GraphQLSerializer CreateSerializer(PitchlyEmulatorErrorStyle style) => new(options =>
    {
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        options.Converters.Add(new EmulatorErrorJsonConverter(style));
    });
}
