using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization.Metadata;

namespace Pitchly.AspNetCore;

/// <summary>
/// Sends GraphQL operations to Pitchly with the credential chosen at registration (the signed-in user by default) or
/// with a key given per call,
/// through the access-token handler: an invalid token is refreshed and the operation replayed once, invisibly.
/// Registered by <c>services.AddPitchlyGraphQLClient()</c>; more clients with other credentials side by side by
/// <c>services.AddPitchlyGraphQLClient(name, authenticate)</c>, as keyed services.
/// </summary>
public interface IPitchlyGraphQLClient
{
    /// <summary>Sends an operation and reads <c>data</c> into <typeparamref name="TData"/> with reflection-based serialization.</summary>
    /// <typeparam name="TData">The type <c>data</c> is read into (camelCase JSON names match PascalCase properties).</typeparam>
    /// <param name="request">The operation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The typed data and the errors; call <see cref="PitchlyGraphQLResponse{TData}.GetDataOrThrow"/> to throw on errors.</returns>
    /// <exception cref="PitchlyGraphQLException">Pitchly's answer is not a GraphQL response (HTML, other JSON, too large) or its data does not fit <typeparamref name="TData"/>.</exception>
    /// <exception cref="PitchlySignInRequiredException">The credential's tokens are missing or were refused; the user must sign in again.</exception>
    /// <exception cref="PitchlyTokenEndpointException">The token could not be refreshed.</exception>
    [RequiresUnreferencedCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo when trimming.")]
    [RequiresDynamicCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo for native AOT.")]
    Task<PitchlyGraphQLResponse<TData>> SendAsync<TData>(PitchlyGraphQLRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends an operation and reads <c>data</c> with <paramref name="dataTypeInfo"/> (for example from a source-generated
    /// <c>JsonSerializerContext</c>); variables of other than primitive and JSON types are written with its options, so
    /// the context must include their types too.
    /// </summary>
    /// <typeparam name="TData">The type <c>data</c> is read into.</typeparam>
    /// <param name="request">The operation.</param>
    /// <param name="dataTypeInfo">How to read <typeparamref name="TData"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The typed data and the errors; call <see cref="PitchlyGraphQLResponse{TData}.GetDataOrThrow"/> to throw on errors.</returns>
    /// <exception cref="PitchlyGraphQLException">Pitchly's answer is not a GraphQL response (HTML, other JSON, too large) or its data does not fit <typeparamref name="TData"/>.</exception>
    /// <exception cref="PitchlySignInRequiredException">The credential's tokens are missing or were refused; the user must sign in again.</exception>
    /// <exception cref="PitchlyTokenEndpointException">The token could not be refreshed.</exception>
    Task<PitchlyGraphQLResponse<TData>> SendAsync<TData>(PitchlyGraphQLRequest request, JsonTypeInfo<TData> dataTypeInfo, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends an operation with the tokens of <paramref name="key"/> instead of the client's own credential (a user or an
    /// install the app chose for this call), and reads <c>data</c> with reflection-based serialization. The client must
    /// carry an access-token credential (<c>AddPitchlyUserAccessToken</c>, <c>AddPitchlyInstallAccessToken</c>,
    /// <c>AddPitchlyAccessToken</c>); one with <c>AddPitchlyApiKey</c> or <c>AddPitchlySelfSignedJwt</c> throws
    /// <see cref="PitchlyException"/>. The key must come from an authenticated context, never from a value the caller chooses.
    /// </summary>
    /// <typeparam name="TData">The type <c>data</c> is read into (camelCase JSON names match PascalCase properties).</typeparam>
    /// <param name="key">Whose tokens the call carries.</param>
    /// <param name="request">The operation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The typed data and the errors; call <see cref="PitchlyGraphQLResponse{TData}.GetDataOrThrow"/> to throw on errors.</returns>
    /// <exception cref="PitchlyGraphQLException">Pitchly's answer is not a GraphQL response (HTML, other JSON, too large) or its data does not fit <typeparamref name="TData"/>.</exception>
    /// <exception cref="PitchlySignInRequiredException">The key's tokens are missing or were refused; for a user, the user must sign in again.</exception>
    /// <exception cref="PitchlyTokenEndpointException">The token could not be refreshed.</exception>
    /// <exception cref="NotSupportedException">The implementation does not take a key per call (an implementation written before this overload).</exception>
    [RequiresUnreferencedCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo when trimming.")]
    [RequiresDynamicCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo for native AOT.")]
    Task<PitchlyGraphQLResponse<TData>> SendAsync<TData>(PitchlyTokenKey key, PitchlyGraphQLRequest request, CancellationToken cancellationToken = default)
        => throw new NotSupportedException($"{GetType().Name} does not send with a key per call.");

    /// <summary>
    /// Sends an operation with the tokens of <paramref name="key"/> instead of the client's own credential, and reads
    /// <c>data</c> with <paramref name="dataTypeInfo"/>; see the overload without it for which clients take a key.
    /// </summary>
    /// <typeparam name="TData">The type <c>data</c> is read into.</typeparam>
    /// <param name="key">Whose tokens the call carries.</param>
    /// <param name="request">The operation.</param>
    /// <param name="dataTypeInfo">How to read <typeparamref name="TData"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The typed data and the errors; call <see cref="PitchlyGraphQLResponse{TData}.GetDataOrThrow"/> to throw on errors.</returns>
    /// <exception cref="PitchlyGraphQLException">Pitchly's answer is not a GraphQL response (HTML, other JSON, too large) or its data does not fit <typeparamref name="TData"/>.</exception>
    /// <exception cref="PitchlySignInRequiredException">The key's tokens are missing or were refused; for a user, the user must sign in again.</exception>
    /// <exception cref="PitchlyTokenEndpointException">The token could not be refreshed.</exception>
    /// <exception cref="NotSupportedException">The implementation does not take a key per call (an implementation written before this overload).</exception>
    Task<PitchlyGraphQLResponse<TData>> SendAsync<TData>(PitchlyTokenKey key, PitchlyGraphQLRequest request, JsonTypeInfo<TData> dataTypeInfo, CancellationToken cancellationToken = default)
        => throw new NotSupportedException($"{GetType().Name} does not send with a key per call.");
}
