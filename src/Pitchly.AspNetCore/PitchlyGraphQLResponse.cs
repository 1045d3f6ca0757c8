using System.Net;
using Pitchly.AspNetCore.Internal;

namespace Pitchly.AspNetCore;

/// <summary>
/// Pitchly's answer to a GraphQL operation: the typed <c>data</c> and the <c>errors</c>. GraphQL answers errors with
/// HTTP 200 and may return partial data next to them, so nothing is thrown until <see cref="EnsureNoErrors"/> or
/// <see cref="GetDataOrThrow"/> is called.
/// </summary>
/// <typeparam name="TData">The type <c>data</c> is read into.</typeparam>
public sealed class PitchlyGraphQLResponse<TData>
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="data">The response's <c>data</c>, or <see langword="default"/> when it was null or absent.</param>
    /// <param name="errors">The response's <c>errors</c>.</param>
    /// <param name="statusCode">The HTTP status code of the response.</param>
    public PitchlyGraphQLResponse(TData? data, IReadOnlyList<PitchlyGraphQLError> errors, HttpStatusCode statusCode)
    {
        ArgumentNullException.ThrowIfNull(errors);
        Data = data;
        Errors = errors;
        StatusCode = statusCode;
    }

    /// <summary>Gets the response's <c>data</c>; <see langword="default"/> when Pitchly answered <c>data: null</c> or none.</summary>
    public TData? Data { get; }

    /// <summary>Gets the response's <c>errors</c>; empty when there were none.</summary>
    public IReadOnlyList<PitchlyGraphQLError> Errors { get; }

    /// <summary>Gets the HTTP status code of the response (Pitchly answers 200 even with errors).</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>Gets whether the response carries errors.</summary>
    public bool HasErrors => Errors.Count > 0;

    /// <summary>Throws when the response carries errors; otherwise returns this response.</summary>
    /// <returns>This response.</returns>
    /// <exception cref="PitchlyNotAuthorizedException">An error says the credential lacks a permission.</exception>
    /// <exception cref="PitchlyGraphQLException">The response carries other errors.</exception>
    public PitchlyGraphQLResponse<TData> EnsureNoErrors()
    {
        if (Errors.Count == 0)
        {
            return this;
        }

        var first = Errors[0];
        var summary = Errors.Count == 1
            ? $"Pitchly's GraphQL API answered with an error: {Describe(first)}"
            : $"Pitchly's GraphQL API answered with {Errors.Count} errors; the first: {Describe(first)}";
        var notAuthorized = Errors.FirstOrDefault(static error => error.IsNotAuthorized);
        if (notAuthorized is not null)
        {
            throw new PitchlyNotAuthorizedException(
                $"Pitchly refused the operation for lack of permission: {Describe(notAuthorized)}. The token is valid, so it was not refreshed; check the scope of the token and the app's install.",
                Errors,
                (int)StatusCode);
        }

        throw new PitchlyGraphQLException(summary, Errors, (int)StatusCode);
    }

    /// <summary>Returns <see cref="Data"/>, throwing when the response carries errors or no data.</summary>
    /// <returns>The response's data.</returns>
    /// <exception cref="PitchlyNotAuthorizedException">An error says the credential lacks a permission.</exception>
    /// <exception cref="PitchlyGraphQLException">The response carries other errors, or <c>data</c> was null.</exception>
    public TData GetDataOrThrow()
    {
        EnsureNoErrors();
        return Data ?? throw new PitchlyGraphQLException("Pitchly's GraphQL API answered without errors but with no data.", Errors, (int)StatusCode);
    }

    private static string Describe(PitchlyGraphQLError error)
    {
        // Messages are Pitchly's own wording; a very long one is cut so an exception stays readable. The package's reader
        // redacted them already; an error made elsewhere is redacted here, before the cut (a cut secret would not be found).
        var redacted = SecretRedaction.Redact(error.Message);
        var message = redacted.Length <= 300 ? redacted : string.Concat(redacted.AsSpan(0, 300), "…");
        var code = error.Code is null ? string.Empty : $" ({error.Code})";
        var path = error.Path is null ? string.Empty : $" at {string.Join('.', error.Path)}";
        return message + code + path;
    }
}
