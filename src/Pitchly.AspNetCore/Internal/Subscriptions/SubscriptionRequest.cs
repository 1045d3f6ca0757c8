using System.Text.Json.Serialization.Metadata;

namespace Pitchly.AspNetCore.Internal.Subscriptions;

/// <summary>One subscription: whose tokens, the operation, how to read its data, and the id its messages carry.</summary>
internal sealed record SubscriptionRequest<TData>(PitchlyTokenKey Key, PitchlyGraphQLRequest Request, JsonTypeInfo<TData> DataTypeInfo, string Id);
