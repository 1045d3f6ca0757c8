// Kept beside the emulator: the benchmarks compare fixed request and answer bytes, which a server producing its own answers would vary.
using System.Text;

namespace Pitchly.AspNetCore.Benchmarks;

/// <summary>GraphQL requests and Pitchly answers, as bytes, shared by the benchmarks.</summary>
internal static class CannedPitchly
{
    public const string AccessToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwZXJzb24tNDIiLCJvcmciOiJvcmctNyJ9.c2lnbmF0dXJlLW9mLWEtcmVhbGlzdGljLWxlbmd0aA";

    public static readonly Uri GraphQLEndpoint = new("https://pitchly.test/graphql");

    /// <summary>A typical query with a couple of variables (~120 bytes).</summary>
    public static readonly byte[] SmallRequest = Encoding.UTF8.GetBytes(
        """{"query":"query Deals($first: Int!) { deals(first: $first) { id name } }","variables":{"first":10,"after":null}}""");

    /// <summary>A mutation whose variables carry ~100 KB of rows.</summary>
    public static readonly byte[] LargeRequest = Encoding.UTF8.GetBytes(
        "{\"query\":\"mutation Import($rows: [RowInput!]!) { importRows(rows: $rows) { count } }\",\"variables\":{\"rows\":["
        + string.Join(',', Enumerable.Range(0, 1000).Select(static i => $"{{\"id\":\"row-{i:D5}\",\"name\":\"Company {i:D5}\",\"notes\":\"{new string('x', 50)}\"}}"))
        + "]}}");

    /// <summary>Authenticated answer: <c>data</c> first and an object.</summary>
    public static readonly byte[] DataFirstResponse = Encoding.UTF8.GetBytes(
        """{"data":{"deals":[{"id":"d1","name":"Acme"},{"id":"d2","name":"Globex"}]}}""");

    /// <summary>Authenticated answer of ~100 KB.</summary>
    public static readonly byte[] LargeDataFirstResponse = Encoding.UTF8.GetBytes(
        "{\"data\":{\"deals\":["
        + string.Join(',', Enumerable.Range(0, 1000).Select(static i => $"{{\"id\":\"deal-{i:D5}\",\"name\":\"Company {i:D5}\",\"notes\":\"{new string('y', 50)}\"}}"))
        + "]}}");

    /// <summary>A validation error, <c>errors</c> first as the GraphQL spec recommends: not a token error.</summary>
    public static readonly byte[] ErrorsFirstResponse = Encoding.UTF8.GetBytes(
        """{"errors":[{"message":"Cannot query field \"nmae\" on type \"Deal\". Did you mean \"name\"?","locations":[{"line":1,"column":48}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}""");

    /// <summary>Pitchly's answer to an expired or revoked token.</summary>
    public static readonly byte[] UnauthenticatedResponse = Encoding.UTF8.GetBytes(
        """{"data":null,"errors":[{"message":"You must be signed in.","path":["deals"],"extensions":{"code":"UNAUTHENTICATED"}}]}""");
}
