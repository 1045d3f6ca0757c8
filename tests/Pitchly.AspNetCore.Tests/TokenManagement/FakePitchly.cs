// Kept beside the emulator: these tests hold token answers after the grant, replace token and GraphQL answers, read raw requests and issue tokens for any person — knobs the emulator does not have.
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting.Server;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>
/// A small imitation of Pitchly on real Kestrel: a token endpoint with single-use rotating refresh tokens that counts
/// grants and reuse, and a GraphQL endpoint that answers with the person whose token it received.
/// </summary>
public sealed partial class FakePitchly : IAsyncDisposable
{
    public const string ClientId = "test-client";
    public const string ClientSecret = "plys_test-secret-never-shown";

    private readonly object _gate = new();
    private readonly Dictionary<string, string> _refreshTokens = new(StringComparer.Ordinal);
    private readonly HashSet<string> _spentRefreshTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _accessTokens = new(StringComparer.Ordinal);
    private WebApplication? _app;
    private int _refreshGrants;
    private int _clientCredentialsGrants;
    private int _reuses;
    private int _graphQLRequests;

    public Uri BaseAddress { get; private set; } = null!;

    public string TokenEndpoint => new Uri(BaseAddress, "/api/oauth/token").ToString();

    public Uri GraphQLEndpoint => new(BaseAddress, "/graphql");

    public int RefreshGrants => Volatile.Read(ref _refreshGrants);

    public int ClientCredentialsGrants => Volatile.Read(ref _clientCredentialsGrants);

    public int Reuses => Volatile.Read(ref _reuses);

    public int GraphQLRequests => Volatile.Read(ref _graphQLRequests);

    /// <summary>Every GraphQL request received: headers, body, and whose token it carried.</summary>
    public ConcurrentQueue<SeenRequest> Seen { get; } = new();

    /// <summary>How an invalid token is answered: UNAUTHENTICATED, legacy-data, legacy-extensions or http-401.</summary>
    public string InvalidTokenStyle { get; set; } = "UNAUTHENTICATED";

    /// <summary>The expires_in of refreshed access tokens (the fake itself never expires them: tests invalidate).</summary>
    public int AccessTokenLifetimeSeconds { get; set; } = 3600;

    /// <summary>While set, token responses wait for it (the grant is already performed).</summary>
    public TaskCompletionSource? HoldTokenResponses { get; set; }

    /// <summary>Replaces the token endpoint's answer (after the grant is counted).</summary>
    public Func<HttpContext, Task>? TokenEndpointOverride { get; set; }

    /// <summary>Replaces the GraphQL endpoint's answer for valid tokens.</summary>
    public Func<HttpContext, string, Task>? GraphQLOverride { get; set; }

    public static async Task<FakePitchly> StartAsync()
    {
        var fake = new FakePitchly();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/api/oauth/token", fake.TokenAsync);
        app.MapMethods("/graphql", ["GET", "POST", "PUT"], fake.GraphQLAsync);
        app.UseWebSockets();
        app.Map("/subscriptions", fake.SubscriptionsAsync);
        await app.StartAsync();
        fake._app = app;
        fake.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return fake;
    }

    public (string AccessToken, string RefreshToken) Issue(string person)
    {
        lock (_gate)
        {
            var access = NewToken("at");
            var refresh = NewToken("rt");
            _accessTokens[access] = person;
            _refreshTokens[refresh] = person;
            return (access, refresh);
        }
    }

    /// <summary>Issues tokens for <paramref name="key"/>'s person as a sign-in at <paramref name="now"/> would store them, valid for one hour.</summary>
    public PitchlyTokenRecord SignIn(PitchlyTokenKey key, DateTimeOffset now)
    {
        var (access, refresh) = Issue(key.PersonId ?? key.Value);
        return new PitchlyTokenRecord
        {
            AccessToken = access,
            RefreshToken = refresh,
            ExpiresAt = now.AddHours(1),
            IssuedAt = now,
            OrganizationId = key.OrganizationId,
        };
    }

    /// <summary>Invalidates an access token before its expiry, as Pitchly may; subscriptions holding it are closed with 4403.</summary>
    public void Invalidate(string accessToken)
    {
        lock (_gate)
        {
            _accessTokens.Remove(accessToken);
        }

        CloseSubscriptionsHolding(accessToken);
    }

    public bool IsAccessTokenValid(string accessToken)
    {
        lock (_gate)
        {
            return _accessTokens.ContainsKey(accessToken);
        }
    }

    public bool IsRefreshTokenValid(string refreshToken)
    {
        lock (_gate)
        {
            return _refreshTokens.ContainsKey(refreshToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private static string NewToken(string prefix) => $"{prefix}_{Convert.ToHexString(RandomNumberGenerator.GetBytes(16))}";

    private async Task TokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        if (form["client_id"] != ClientId || form["client_secret"] != ClientSecret)
        {
            await WriteError(context, 401, "invalid_client");
            return;
        }

        object answer;
        string? error = null;
        lock (_gate)
        {
            switch (form["grant_type"].ToString())
            {
                case "refresh_token":
                    var presented = form["refresh_token"].ToString();
                    if (_spentRefreshTokens.Contains(presented))
                    {
                        _reuses++;
                        error = "invalid_grant";
                        answer = new { };
                    }
                    else if (!_refreshTokens.Remove(presented, out var person))
                    {
                        error = "invalid_grant";
                        answer = new { };
                    }
                    else
                    {
                        _refreshGrants++;
                        _spentRefreshTokens.Add(presented);
                        var access = NewToken("at");
                        var refresh = NewToken("rt");
                        _accessTokens[access] = person;
                        _refreshTokens[refresh] = person;
                        answer = new { access_token = access, expires_in = AccessTokenLifetimeSeconds, refresh_token = refresh, token_type = "Bearer", scope = "records:read" };
                    }

                    break;
                case "client_credentials":
                    _clientCredentialsGrants++;
                    var appToken = NewToken("at");
                    _accessTokens[appToken] = $"install:{form["organization_id"]}";
                    answer = new { access_token = appToken, expires_in = 3600, token_type = "Bearer" };
                    break;
                default:
                    error = "unsupported_grant_type";
                    answer = new { };
                    break;
            }
        }

        if (HoldTokenResponses is { } hold)
        {
            await hold.Task;
        }

        if (TokenEndpointOverride is { } replace)
        {
            await replace(context);
            return;
        }

        if (error is not null)
        {
            await WriteError(context, 400, error);
            return;
        }

        await context.Response.WriteAsJsonAsync(answer);
    }

    private static Task WriteError(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error, error_description = "refused" });
    }

    private async Task GraphQLAsync(HttpContext context)
    {
        Interlocked.Increment(ref _graphQLRequests);
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        var token = context.Request.Headers.Authorization.ToString() is { Length: > 7 } header && header.StartsWith("Bearer ", StringComparison.Ordinal)
            ? header[7..]
            : TryReadVariable(body);
        string? person;
        lock (_gate)
        {
            person = token is not null && _accessTokens.TryGetValue(token, out var owner) ? owner : null;
        }

        Seen.Enqueue(new SeenRequest(
            context.Request.Method,
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            body,
            token,
            person));

        if (person is null)
        {
            await WriteInvalidToken(context);
            return;
        }

        if (GraphQLOverride is { } replace)
        {
            await replace(context, person);
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync("{\"data\":{\"viewer\":{\"person\":{\"id\":\"" + person + "\"}}}}");
    }

    private Task WriteInvalidToken(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        switch (InvalidTokenStyle)
        {
            case "http-401":
                context.Response.StatusCode = 401;
                return context.Response.WriteAsync("""{"errors":[{"message":"Unauthorized"}]}""");
            case "legacy-data":
                return context.Response.WriteAsync("""{"errors":[{"message":"Token invalid","data":{"error":"token-invalid"}}],"data":null}""");
            case "legacy-extensions":
                return context.Response.WriteAsync("""{"errors":[{"message":"Token invalid","extensions":{"code":"token-invalid"}}],"data":null}""");
            default:
                return context.Response.WriteAsync("""{"data":null,"errors":[{"message":"You must be signed in","extensions":{"code":"UNAUTHENTICATED"}}]}""");
        }
    }

    private static string? TryReadVariable(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("variables", out var variables)
                   && variables.ValueKind == JsonValueKind.Object
                   && variables.TryGetProperty("accessToken", out var token)
                ? token.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

public sealed record SeenRequest(string Method, IReadOnlyDictionary<string, string> Headers, byte[] Body, string? Token, string? Person);
