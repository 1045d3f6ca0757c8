using System.Text.Json;

namespace Pitchly.Samples.Shared;

/// <summary>
/// What came back from one GraphQL request, read defensively: the <c>data</c> object when there is one, the
/// <c>errors</c>, and a readable <see cref="Problem"/> when the answer was not a GraphQL answer at all.
/// </summary>
public sealed class GraphQLResult
{
    internal GraphQLResult(int? statusCode, JsonElement? data, IReadOnlyList<GraphQLError> errors, string? problem)
    {
        StatusCode = statusCode;
        Data = data;
        Errors = errors;
        Problem = problem;
    }

    /// <summary>Gets the HTTP status code, or <see langword="null"/> when no response arrived.</summary>
    public int? StatusCode { get; }

    /// <summary>Gets the <c>data</c> member when it is a JSON object; <see langword="null"/> otherwise.</summary>
    public JsonElement? Data { get; }

    /// <summary>Gets the GraphQL errors Pitchly reported.</summary>
    public IReadOnlyList<GraphQLError> Errors { get; }

    /// <summary>Gets what went wrong below GraphQL (no response, not JSON, not a GraphQL answer), if anything.</summary>
    public string? Problem { get; }

    /// <summary>Gets every error and problem as one line each, for display.</summary>
    public IEnumerable<string> Describe()
    {
        if (Problem is not null)
        {
            yield return Problem;
        }

        foreach (var error in Errors)
        {
            yield return error.ToString();
        }
    }
}
