using GraphQL;
using GraphQLParser;

namespace Pitchly.AspNetCore.Emulator.Internal.GraphQL;

/// <summary>A GraphQL error before formatting; <see cref="GraphQLResponseWriter"/> shapes it per error style.</summary>
internal sealed record GraphQLError(string Message, string Code, Location? Location = null, IReadOnlyList<object>? Path = null);

internal static class GraphQLErrorCodes
{
    public const string Unauthenticated = "UNAUTHENTICATED";
    public const string Forbidden = "FORBIDDEN";
    public const string ParseFailed = "GRAPHQL_PARSE_FAILED";
    public const string ValidationFailed = "GRAPHQL_VALIDATION_FAILED";
    public const string BadUserInput = "BAD_USER_INPUT";
    public const string BadRequest = "BAD_REQUEST";
    public const string NotFound = "NOT_FOUND";
    public const string OperationResolutionFailure = "OPERATION_RESOLUTION_FAILURE";
    public const string InternalServerError = "INTERNAL_SERVER_ERROR";
}

/// <summary>Thrown by a resolver: the field becomes <c>null</c> and the error is reported with the field's location and path.</summary>
internal sealed class GraphQLFieldException : ExecutionError
{
    public GraphQLFieldException(string code, string message)
        : base(message)
    {
        Code = code;
    }
}
