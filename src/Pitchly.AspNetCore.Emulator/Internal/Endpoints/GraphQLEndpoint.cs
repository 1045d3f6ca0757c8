using System.Net.Http.Headers;
using System.Text.Json;
using GraphQL;
using GraphQL.Execution;
using GraphQL.Validation;
using GraphQLParser.AST;
using Microsoft.AspNetCore.Http;
using Pitchly.AspNetCore.Emulator.Internal.GraphQL;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>
/// <c>POST /graphql</c>: parses and validates the document (GraphQL.NET), then authenticates the request's credential
/// (Bearer header, <c>accessToken</c> or <c>secretKey</c> variable or argument, self-signed JWT) and runs the operation
/// against the credential's organization. Answers HTTP 200 for GraphQL-level errors, as Pitchly does; 400 only for a
/// body that is not a GraphQL request.
/// </summary>
internal sealed class GraphQLEndpoint(PitchlyEmulator emulator)
{
    private readonly CredentialAuthenticator _authenticator = new(emulator);

    private PitchlyEmulator Emulator => emulator;

    public async Task HandleAsync(HttpContext context)
    {
        var options = emulator.Options;
        Interlocked.Increment(ref emulator.Counters.GraphQLRequests);
        await EmulatedLatency.WaitAsync(emulator.TimeProvider, options.Latency, context.RequestAborted);

        var log = new PitchlyEmulatorGraphQLRequest(
            emulator.TimeProvider.GetUtcNow(), null, null, PitchlyEmulatorTokenPlacement.None, PitchlyEmulatorCredentialKind.None, null, null, null, null);
        var serializer = EmulatorGraphQL.Serializer(options.ErrorStyle);

        if (await RequestBody.ReadAsync(context, options.MaxRequestBodySize) is not { } text)
        {
            emulator.Record(log with { ErrorCode = GraphQLErrorCodes.BadRequest });
            await RequestBody.TooLarge(emulator).ExecuteAsync(context);
            return;
        }

        JsonDocument body;
        try
        {
            body = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            await BadRequestAsync(context, log, "The request body must be a JSON object: {\"query\": \"…\", \"variables\": {…}, \"operationName\": \"…\"}.");
            return;
        }

        using (body)
        {
            var root = body.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                await BadRequestAsync(context, log, "The request body must be a JSON object: {\"query\": \"…\", \"variables\": {…}, \"operationName\": \"…\"}.");
                return;
            }

            if (!root.TryGetProperty("query", out var queryElement) || queryElement.ValueKind != JsonValueKind.String)
            {
                await BadRequestAsync(context, log, "The request must carry the GraphQL document as a string in \"query\".");
                return;
            }

            Inputs? variables = null;
            if (root.TryGetProperty("variables", out var variablesElement) && variablesElement.ValueKind != JsonValueKind.Null)
            {
                if (variablesElement.ValueKind != JsonValueKind.Object)
                {
                    await BadRequestAsync(context, log, "\"variables\" must be a JSON object when present.");
                    return;
                }

                variables = serializer.ReadNode<Inputs>(variablesElement);
            }

            string? operationName = null;
            if (root.TryGetProperty("operationName", out var nameElement) && nameElement.ValueKind != JsonValueKind.Null)
            {
                if (nameElement.ValueKind != JsonValueKind.String)
                {
                    await BadRequestAsync(context, log, "\"operationName\" must be a string when present.");
                    return;
                }

                operationName = nameElement.GetString();
            }

            var userContext = new EmulatorUserContext(emulator);
            var listener = new Authentication(this, context, variables, userContext, log);
            var result = await EmulatorGraphQL.ExecuteAsync(queryElement.GetString()!, variables, operationName, options.MaxQueryDepth, userContext, listener, context.RequestAborted);
            log = listener.Log;

            if (listener.Failure is { } failure)
            {
                Interlocked.Increment(ref emulator.Counters.GraphQLUnauthenticated);
                emulator.Logger.GraphQLUnauthenticated(log.Placement, failure);
                emulator.Record(log with { ErrorCode = GraphQLErrorCodes.Unauthenticated });
                await WriteAsync(context, StatusCodes.Status200OK, writer => GraphQLResponseWriter.WriteUnauthenticated(writer, failure, options.ErrorStyle));
                return;
            }

            var errors = result.Errors;
            if (errors is { Count: > 0 })
            {
                Interlocked.Add(ref emulator.Counters.GraphQLForbidden, errors.Count(e => e is GraphQLFieldException { Code: GraphQLErrorCodes.Forbidden }));
            }

            emulator.Record(log with { ErrorCode = errors is { Count: > 0 } ? GraphQLResponseWriter.CodeOf(errors[0]) : null });
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json; charset=utf-8";
            await serializer.WriteAsync(context.Response.Body, result, context.RequestAborted);
        }
    }

    private Task BadRequestAsync(HttpContext context, PitchlyEmulatorGraphQLRequest log, string message)
    {
        emulator.Logger.GraphQLBadRequest(StatusCodes.Status400BadRequest, message);
        emulator.Record(log with { ErrorCode = GraphQLErrorCodes.BadRequest });
        var style = emulator.Options.ErrorStyle;
        return WriteAsync(context, StatusCodes.Status400BadRequest, writer => GraphQLResponseWriter.WriteRequestError(writer, message, GraphQLErrorCodes.BadRequest, style));
    }

    private static async Task WriteAsync(HttpContext context, int statusCode, Action<Utf8JsonWriter> write)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json; charset=utf-8";
        await using (var writer = new Utf8JsonWriter(context.Response.BodyWriter, EmulatorGraphQL.WriterOptions))
        {
            write(writer);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    /// <summary>
    /// Authenticates between validation and execution, so that a document that does not validate is refused before
    /// its credential is looked at, and a credential carried as an argument is read after variable coercion.
    /// </summary>
    private sealed class Authentication(
        GraphQLEndpoint endpoint,
        HttpContext http,
        Inputs? variables,
        EmulatorUserContext userContext,
        PitchlyEmulatorGraphQLRequest log) : DocumentExecutionListenerBase
    {
        public PitchlyEmulatorGraphQLRequest Log { get; private set; } = log;

        public string? Failure { get; private set; }

        public override Task AfterValidationAsync(IExecutionContext context, IValidationResult validationResult)
        {
            var operation = context.Operation;
            Log = Log with
            {
                OperationType = operation.Operation switch
                {
                    OperationType.Mutation => "mutation",
                    OperationType.Subscription => "subscription",
                    _ => "query",
                },
                OperationName = operation.Name?.StringValue,
            };
            if (validationResult.IsValid && operation.Operation == OperationType.Subscription)
            {
                throw new ValidationError(
                    context.Document.Source,
                    null,
                    $"Subscriptions are not served over HTTP: open a graphql-transport-ws WebSocket at {PitchlyEmulatorDefaults.SubscriptionsPath}.",
                    operation);
            }

            return Task.CompletedTask;
        }

        public override Task BeforeExecutionAsync(IExecutionContext context)
        {
            var (placement, credential, isSecretKey) = FindCredential(context);
            Log = Log with { Placement = placement };
            if (credential is null && IsIntrospectionOnly(context.Operation))
            {
                // Schema tooling (codegen, IDEs) fetches the schema without a token; it holds no organization's data.
                return Task.CompletedTask;
            }

            var identity = endpoint._authenticator.Authenticate(credential, isSecretKey, drawEarlyInvalidation: true, out var failure);
            if (identity is null)
            {
                Failure = failure;
                throw new ExecutionError(failure) { Code = GraphQLErrorCodes.Unauthenticated };
            }

            Log = Log with
            {
                CredentialKind = identity.Kind,
                PersonId = identity.PersonId,
                OrganizationId = identity.OrganizationId,
                ClientId = identity.ClientId,
            };
            userContext.Identity = identity;
            userContext.Organization = endpoint.Emulator.Organizations[identity.OrganizationId];
            return Task.CompletedTask;
        }

        private static bool IsIntrospectionOnly(GraphQLOperationDefinition operation) =>
            operation.Operation == OperationType.Query
            && operation.SelectionSet.Selections.All(selection =>
                selection is GraphQLField field && (field.Name == "__schema" || field.Name == "__type" || field.Name == "__typename"));

        private (PitchlyEmulatorTokenPlacement Placement, string? Credential, bool IsSecretKey) FindCredential(IExecutionContext context)
        {
            if (AuthenticationHeaderValue.TryParse(http.Request.Headers.Authorization, out var header)
                && string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
                && !string.IsNullOrEmpty(header.Parameter))
            {
                return (PitchlyEmulatorTokenPlacement.AuthorizationHeader, header.Parameter, false);
            }

            foreach (var (name, isSecretKey) in Credentials)
            {
                if (variables is not null && variables.TryGetValue(name, out var value) && value is string { Length: > 0 } text)
                {
                    return (PitchlyEmulatorTokenPlacement.Variable, text, isSecretKey);
                }
            }

            // Legacy queries may also write the credential as a root field's argument.
            foreach (var selection in context.Operation.SelectionSet.Selections)
            {
                if (selection is not GraphQLField field || field.Arguments is null
                    || context.ArgumentValues?.TryGetValue(field, out var arguments) != true)
                {
                    continue;
                }

                foreach (var (name, isSecretKey) in Credentials)
                {
                    if (arguments!.TryGetValue(name, out var argument) && argument.Value is string { Length: > 0 } text)
                    {
                        var placement = argument.Source is ArgumentSource.Variable or ArgumentSource.VariableDefault
                            ? PitchlyEmulatorTokenPlacement.Variable
                            : PitchlyEmulatorTokenPlacement.Argument;
                        return (placement, text, isSecretKey);
                    }
                }
            }

            return (PitchlyEmulatorTokenPlacement.None, null, false);
        }

        private static readonly (string Name, bool IsSecretKey)[] Credentials = [("accessToken", false), ("secretKey", true)];
    }
}
