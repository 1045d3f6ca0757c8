using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using GraphQL;
using GraphQL.Execution;
using GraphQL.SystemTextJson;
using GraphQL.Validation;
using GraphQL.Validation.Complexity;
using GraphQL.Validation.Rules.Custom;
using GraphQLParser.AST;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>Runs GraphQL operations against <see cref="EmulatorSchema"/> with GraphQL.NET and writes their results.</summary>
internal static class EmulatorGraphQL
{
    private const int DocumentCacheCapacity = 1024;

    // Only documents up to this length are cached, so the cache holds at most 1024 × 16 KiB of query text whatever the
    // callers send (a request body may be up to MaxRequestBodySize).
    private const int CachedQueryMaxLength = 16 * 1024;

    private static readonly DocumentExecuter Executer = new();
    private static readonly IValidationRule[] NoRules = [];
    // One entry per MaxQueryDepth value the emulator was set to (a setting, not caller input): a handful at most.
    private static readonly ConcurrentDictionary<int, IValidationRule[]> RulesByMaxDepth = new();

    // Documents that passed the spec's validation rules and the depth limit, by depth limit, operation name and query text. Validation
    // depends only on these and the (fixed) schema, so a cached document skips the rules; variables are still coerced and arguments
    // parsed each time.
    private static readonly ConcurrentDictionary<string, GraphQLDocument> ValidDocuments = new(StringComparer.Ordinal);
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
        int maxDepth,
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
            ValidationRules = RulesByMaxDepth.GetOrAdd(maxDepth, static depth =>
                [.. DocumentValidator.CoreRules, new ComplexityValidationRule(new ComplexityOptions { MaxDepth = depth })]),
        };
        var key = CacheKey(query, options.OperationName, maxDepth);
        if (ValidDocuments.TryGetValue(key, out var document))
        {
            options.Document = document;
            options.ValidationRules = NoRules;
        }
        else if (query.Length <= CachedQueryMaxLength)
        {
            options.Listeners.Add(new DocumentCache(key));
        }

        if (listener is not null)
        {
            options.Listeners.Add(listener);
        }

        return Executer.ExecuteAsync(options);
    }

    /// <summary>Whether a document is in the validated-document cache (for tests).</summary>
    internal static bool IsCached(string query, string? operationName, int maxDepth) =>
        ValidDocuments.ContainsKey(CacheKey(query, string.IsNullOrEmpty(operationName) ? null : operationName, maxDepth));

    private static string CacheKey(string query, string? operationName, int maxDepth) =>
        maxDepth.ToString(CultureInfo.InvariantCulture) + "\n" + (operationName ?? string.Empty) + "\n" + query;

    private static GraphQLSerializer CreateSerializer(PitchlyEmulatorErrorStyle style) => new(options =>
    {
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        options.Converters.Add(new EmulatorErrorJsonConverter(style));
    });

    private sealed class DocumentCache(string key) : DocumentExecutionListenerBase
    {
        public override Task AfterValidationAsync(IExecutionContext context, IValidationResult validationResult)
        {
            if (validationResult.IsValid)
            {
                if (ValidDocuments.Count >= DocumentCacheCapacity)
                {
                    ValidDocuments.Clear();
                }

                ValidDocuments.TryAdd(key, context.Document);
            }

            return Task.CompletedTask;
        }
    }
}
