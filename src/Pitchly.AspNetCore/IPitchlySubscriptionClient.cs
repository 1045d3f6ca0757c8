using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization.Metadata;

namespace Pitchly.AspNetCore;

/// <summary>
/// Runs GraphQL subscriptions against Pitchly's graphql-ws endpoint (<c>graphql-transport-ws</c>) and surfaces their
/// events as an <see cref="IAsyncEnumerable{T}"/>. The access token comes from <see cref="IPitchlyTokenManager"/>; when
/// Pitchly closes the connection because the token is invalid, expired or revoked (close code 4403), the token is
/// refreshed with the rejected token and the operation subscribed again; a lost connection is re-established with
/// backoff. Registered by <c>services.AddPitchlySubscriptionClient()</c>.
/// </summary>
/// <remarks>
/// Each subscription has its own connection. Events Pitchly raises while a connection is being re-established are not
/// delivered (graphql-ws has no replay); every event sent on an open connection is. Stopping the enumeration, or
/// cancelling it, sends <c>complete</c> and closes the connection.
/// </remarks>
public interface IPitchlySubscriptionClient
{
    /// <summary>
    /// Subscribes as the signed-in user of the current request or Blazor circuit (<see cref="IPitchlyUserKeyAccessor"/>,
    /// asked once, when called) and reads each event's <c>data</c> into <typeparamref name="TData"/> with reflection-based
    /// serialization.
    /// </summary>
    /// <typeparam name="TData">The type each event's <c>data</c> is read into (camelCase JSON names match PascalCase properties).</typeparam>
    /// <param name="request">The subscription operation, for example <c>subscription($id: ID!) { dataRowsChanged(databaseId: $id) { _id } }</c>.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events, each with its data and field errors, until Pitchly completes the subscription.</returns>
    /// <exception cref="PitchlySignInRequiredException">No user is signed in with Pitchly, or the user's tokens are missing or were refused.</exception>
    /// <exception cref="PitchlyGraphQLException">Pitchly answered the operation with an <c>error</c> message, or an event's data does not fit <typeparamref name="TData"/>.</exception>
    /// <exception cref="PitchlySubscriptionException">Pitchly closed the subscription for a reason a new connection would not change.</exception>
    /// <exception cref="PitchlySubscriptionReconnectException">The connection was lost and could not be re-established.</exception>
    [RequiresUnreferencedCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo when trimming.")]
    [RequiresDynamicCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo for native AOT.")]
    IAsyncEnumerable<PitchlyGraphQLResponse<TData>> SubscribeAsync<TData>(PitchlyGraphQLRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes as the signed-in user of the current request or Blazor circuit (<see cref="IPitchlyUserKeyAccessor"/>,
    /// asked once, when called) and reads each event's <c>data</c> with <paramref name="dataTypeInfo"/>.
    /// </summary>
    /// <typeparam name="TData">The type each event's <c>data</c> is read into.</typeparam>
    /// <param name="request">The subscription operation.</param>
    /// <param name="dataTypeInfo">How to read <typeparamref name="TData"/> (its options also write the variables).</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events, each with its data and field errors, until Pitchly completes the subscription.</returns>
    /// <exception cref="PitchlySignInRequiredException">No user is signed in with Pitchly, or the user's tokens are missing or were refused.</exception>
    /// <exception cref="PitchlyGraphQLException">Pitchly answered the operation with an <c>error</c> message, or an event's data does not fit <typeparamref name="TData"/>.</exception>
    /// <exception cref="PitchlySubscriptionException">Pitchly closed the subscription for a reason a new connection would not change.</exception>
    /// <exception cref="PitchlySubscriptionReconnectException">The connection was lost and could not be re-established.</exception>
    IAsyncEnumerable<PitchlyGraphQLResponse<TData>> SubscribeAsync<TData>(PitchlyGraphQLRequest request, JsonTypeInfo<TData> dataTypeInfo, CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes with the tokens of <paramref name="key"/> (a user or an install; no HTTP request needed, for background
    /// services) and reads each event's <c>data</c> into <typeparamref name="TData"/> with reflection-based serialization.
    /// </summary>
    /// <typeparam name="TData">The type each event's <c>data</c> is read into (camelCase JSON names match PascalCase properties).</typeparam>
    /// <param name="key">Whose tokens, for example <c>PitchlyTokenKey.ForInstall(organizationId)</c>.</param>
    /// <param name="request">The subscription operation.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events, each with its data and field errors, until Pitchly completes the subscription.</returns>
    /// <exception cref="PitchlySignInRequiredException">The key's tokens are missing or were refused.</exception>
    /// <exception cref="PitchlyGraphQLException">Pitchly answered the operation with an <c>error</c> message, or an event's data does not fit <typeparamref name="TData"/>.</exception>
    /// <exception cref="PitchlySubscriptionException">Pitchly closed the subscription for a reason a new connection would not change.</exception>
    /// <exception cref="PitchlySubscriptionReconnectException">The connection was lost and could not be re-established.</exception>
    [RequiresUnreferencedCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo when trimming.")]
    [RequiresDynamicCode("Reads data and writes variables with reflection. Use the overload that takes a JsonTypeInfo for native AOT.")]
    IAsyncEnumerable<PitchlyGraphQLResponse<TData>> SubscribeAsync<TData>(PitchlyTokenKey key, PitchlyGraphQLRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes with the tokens of <paramref name="key"/> (a user or an install; no HTTP request needed, for background
    /// services) and reads each event's <c>data</c> with <paramref name="dataTypeInfo"/>.
    /// </summary>
    /// <typeparam name="TData">The type each event's <c>data</c> is read into.</typeparam>
    /// <param name="key">Whose tokens, for example <c>PitchlyTokenKey.ForInstall(organizationId)</c>.</param>
    /// <param name="request">The subscription operation.</param>
    /// <param name="dataTypeInfo">How to read <typeparamref name="TData"/> (its options also write the variables).</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events, each with its data and field errors, until Pitchly completes the subscription.</returns>
    /// <exception cref="PitchlySignInRequiredException">The key's tokens are missing or were refused.</exception>
    /// <exception cref="PitchlyGraphQLException">Pitchly answered the operation with an <c>error</c> message, or an event's data does not fit <typeparamref name="TData"/>.</exception>
    /// <exception cref="PitchlySubscriptionException">Pitchly closed the subscription for a reason a new connection would not change.</exception>
    /// <exception cref="PitchlySubscriptionReconnectException">The connection was lost and could not be re-established.</exception>
    IAsyncEnumerable<PitchlyGraphQLResponse<TData>> SubscribeAsync<TData>(PitchlyTokenKey key, PitchlyGraphQLRequest request, JsonTypeInfo<TData> dataTypeInfo, CancellationToken cancellationToken = default);
}
