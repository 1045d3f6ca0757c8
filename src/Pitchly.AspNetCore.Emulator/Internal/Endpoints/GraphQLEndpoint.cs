using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Pitchly.AspNetCore.Emulator.Internal.GraphQL;
using Pitchly.AspNetCore.Emulator.Internal.Tokens;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>
/// <c>POST /graphql</c>: authenticates the request's credential (Bearer header, <c>accessToken</c> or <c>secretKey</c>
/// variable or argument, self-signed JWT), then parses, validates and runs the operation against the credential's
/// organization. Answers HTTP 200 for GraphQL-level errors, as Pitchly does; 400 only for a body that is not a GraphQL request.
/// </summary>
internal sealed class GraphQLEndpoint(PitchlyEmulator emulator)
{
    public async Task HandleAsync(HttpContext context)
    {
        var options = emulator.Options;
        Interlocked.Increment(ref emulator.Counters.GraphQLRequests);
        if (options.Latency > TimeSpan.Zero)
        {
            await Task.Delay(options.Latency, emulator.TimeProvider, context.RequestAborted);
        }

        var log = new PitchlyEmulatorGraphQLRequest(
            emulator.TimeProvider.GetUtcNow(), null, null, PitchlyEmulatorTokenPlacement.None, PitchlyEmulatorCredentialKind.None, null, null, null, null);

        JsonObject? body;
        try
        {
            body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
        }
        catch (JsonException)
        {
            body = null;
        }

        if (body is null)
        {
            await BadRequestAsync(context, log, "The request body must be a JSON object: {\"query\": \"…\", \"variables\": {…}, \"operationName\": \"…\"}.");
            return;
        }

        if (body["query"] is not JsonValue queryValue || !queryValue.TryGetValue<string>(out var query))
        {
            await BadRequestAsync(context, log, "The request must carry the GraphQL document as a string in \"query\".");
            return;
        }

        var variablesNode = body["variables"];
        if (variablesNode is not null and not JsonObject)
        {
            await BadRequestAsync(context, log, "\"variables\" must be a JSON object when present.");
            return;
        }

        var variables = (JsonObject?)variablesNode;
        string? operationName = null;
        if (body["operationName"] is JsonValue nameValue && !nameValue.TryGetValue(out operationName))
        {
            await BadRequestAsync(context, log, "\"operationName\" must be a string when present.");
            return;
        }

        GraphQLDocument document;
        try
        {
            document = GraphQLParser.Parse(query);
        }
        catch (GraphQLSyntaxException exception)
        {
            await ErrorsAsync(context, log, [new GraphQLError(exception.Message, GraphQLErrorCodes.ParseFailed, exception.Location)]);
            return;
        }

        var operation = operationName is null
            ? document.Operations.Count == 1 ? document.Operations[0] : null
            : document.Operations.FirstOrDefault(o => o.Name == operationName);
        if (operation is null)
        {
            var message = operationName is null
                ? "Must provide operation name if query contains multiple operations."
                : $"Unknown operation named \"{operationName}\".";
            await ErrorsAsync(context, log, [new GraphQLError(message, GraphQLErrorCodes.OperationResolutionFailure)]);
            return;
        }

        log = log with { OperationType = operation.Type, OperationName = operation.Name };
        var errors = GraphQLValidator.Validate(operation, EmulatorSchema.Instance);
        var coerced = GraphQLExecutor.CoerceVariables(operation, variables, errors);
        if (errors.Count > 0)
        {
            await ErrorsAsync(context, log, errors);
            return;
        }

        var (placement, credential, isSecretKey) = FindCredential(context, variables, operation, coerced);
        log = log with { Placement = placement };
        var identity = Authenticate(credential, isSecretKey, options, out var failure);
        if (identity is null)
        {
            Interlocked.Increment(ref emulator.Counters.GraphQLUnauthenticated);
            emulator.Logger.GraphQLUnauthenticated(placement, failure);
            emulator.Record(log with { ErrorCode = GraphQLErrorCodes.Unauthenticated });
            await WriteAsync(context, StatusCodes.Status200OK, GraphQLResponseWriter.Unauthenticated(failure, options.ErrorStyle));
            return;
        }

        log = log with
        {
            CredentialKind = identity.Kind,
            PersonId = identity.PersonId,
            OrganizationId = identity.OrganizationId,
            ClientId = identity.ClientId,
        };
        var state = new ExecutionState(identity, emulator.Organizations[identity.OrganizationId], emulator.FindUser, coerced);
        var data = GraphQLExecutor.Execute(operation, EmulatorSchema.Instance, state);
        Interlocked.Add(ref emulator.Counters.GraphQLForbidden, state.Errors.Count(e => e.Code == GraphQLErrorCodes.Forbidden));
        emulator.Record(log with { ErrorCode = state.Errors.FirstOrDefault()?.Code });
        await WriteAsync(
            context,
            StatusCodes.Status200OK,
            state.Errors.Count == 0 ? new JsonObject { ["data"] = data } : GraphQLResponseWriter.WithErrors(state.Errors, options.ErrorStyle, data, includeData: true));
    }

    private static (PitchlyEmulatorTokenPlacement Placement, string? Credential, bool IsSecretKey) FindCredential(
        HttpContext context,
        JsonObject? variables,
        OperationDefinition operation,
        IReadOnlyDictionary<string, JsonNode?> coerced)
    {
        if (AuthenticationHeaderValue.TryParse(context.Request.Headers.Authorization, out var header)
            && string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
            && !string.IsNullOrEmpty(header.Parameter))
        {
            return (PitchlyEmulatorTokenPlacement.AuthorizationHeader, header.Parameter, false);
        }

        foreach (var (name, isSecretKey) in new[] { ("accessToken", false), ("secretKey", true) })
        {
            if (variables?[name] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0)
            {
                return (PitchlyEmulatorTokenPlacement.Variable, text, isSecretKey);
            }
        }

        // Legacy queries may also write the credential as a root field's argument.
        foreach (var argument in operation.Selections.SelectMany(f => f.Arguments))
        {
            if (argument.Name is "accessToken" or "secretKey"
                && GraphQLExecutor.Evaluate(argument.Value, coerced) is JsonValue value
                && value.TryGetValue<string>(out var text)
                && text.Length > 0)
            {
                var placement = argument.Value is VariableNode ? PitchlyEmulatorTokenPlacement.Variable : PitchlyEmulatorTokenPlacement.Argument;
                return (placement, text, argument.Name == "secretKey");
            }
        }

        return (PitchlyEmulatorTokenPlacement.None, null, false);
    }

    private RequestIdentity? Authenticate(string? credential, bool isSecretKey, PitchlyEmulatorOptions options, out string failure)
    {
        failure = string.Empty;
        if (credential is null)
        {
            failure = "No access token was provided: send it as \"Authorization: Bearer <token>\" or as the accessToken variable.";
            return null;
        }

        if (isSecretKey)
        {
            var owner = emulator.FindClientBySecret(credential);
            if (owner is null)
            {
                failure = "The secretKey is not a registered app's secret.";
                return null;
            }

            return new RequestIdentity(PitchlyEmulatorCredentialKind.SecretKey, owner.ClientId, PitchlyEmulatorDefaults.AcmeOrganizationId, null, PitchlyEmulatorDefaults.Scope);
        }

        var now = emulator.TimeProvider.GetUtcNow();
        if (SelfSignedJwt.LooksLikeJwt(credential))
        {
            if (!SelfSignedJwt.TryValidate(credential, options.Clients, now, out var issuer, out var scope, out failure))
            {
                return null;
            }

            return new RequestIdentity(PitchlyEmulatorCredentialKind.SelfSignedJwt, issuer!.ClientId, PitchlyEmulatorDefaults.AcmeOrganizationId, null, scope ?? PitchlyEmulatorDefaults.Scope);
        }

        var entry = emulator.Tokens.FindAccessToken(credential);
        if (entry is null)
        {
            failure = "The access token is not valid.";
            return null;
        }

        if (entry.IsLive(now)
            && options.EarlyInvalidationRate > 0
            && Random.Shared.NextDouble() < options.EarlyInvalidationRate
            && entry.TryInvalidate())
        {
            Interlocked.Increment(ref emulator.Counters.EarlyInvalidations);
            if (!entry.IsUsed)
            {
                Interlocked.Increment(ref emulator.Counters.InvalidatedBeforeFirstUse);
            }

            emulator.Logger.EarlyInvalidation(entry.Subject.OrganizationId, entry.Subject.PersonId);
        }

        if (entry.IsRevoked)
        {
            failure = "The access token has been revoked.";
            return null;
        }

        if (now >= entry.ExpiresAt)
        {
            failure = "The access token has expired.";
            return null;
        }

        entry.MarkUsed();
        return new RequestIdentity(entry.Subject.Kind, entry.Subject.ClientId, entry.Subject.OrganizationId, entry.Subject.PersonId, entry.Scope);
    }

    private Task BadRequestAsync(HttpContext context, PitchlyEmulatorGraphQLRequest log, string message)
    {
        emulator.Logger.GraphQLBadRequest(StatusCodes.Status400BadRequest, message);
        emulator.Record(log with { ErrorCode = GraphQLErrorCodes.BadRequest });
        var response = GraphQLResponseWriter.WithErrors([new GraphQLError(message, GraphQLErrorCodes.BadRequest)], emulator.Options.ErrorStyle, null, includeData: false);
        return WriteAsync(context, StatusCodes.Status400BadRequest, response);
    }

    private Task ErrorsAsync(HttpContext context, PitchlyEmulatorGraphQLRequest log, IReadOnlyList<GraphQLError> errors)
    {
        emulator.Record(log with { ErrorCode = errors[0].Code });
        return WriteAsync(context, StatusCodes.Status200OK, GraphQLResponseWriter.WithErrors(errors, emulator.Options.ErrorStyle, null, includeData: false));
    }

    private static Task WriteAsync(HttpContext context, int statusCode, JsonObject response)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(response.ToJsonString(EmulatorJson.Relaxed), context.RequestAborted);
    }
}
