// Kept beside the emulator: the sign-in tests need per-test canned and malformed token and GraphQL answers and the exact forms the handler sent, which the emulator neither serves nor records.
namespace Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

/// <summary>
/// Pitchly's token and GraphQL endpoints faked with canned answers on a TestServer, recording what the handler sent.
/// </summary>
public sealed class FakePitchly : IAsyncDisposable
{
    public const string Origin = "https://pitchly.test";
    public const string ClientId = "app0000000000000000a";
    public const string ClientSecret = "plys_secret-value-that-must-never-leak-000000000000";
    public const string AccessToken = "plyu_access-token-that-must-never-leak-0000000000000";
    public const string RefreshToken = "refresh-token-that-must-never-leak-000000000000000";
    public const string OrganizationId = "org0000000000000001";
    public const string PersonId = "psn0000000000000001";
    public const string PersonName = "Ada Lovelace";
    public const string PersonEmail = "ada@example.com";
    public const string PersonImage = "https://images.example.com/ada.png";

    public static readonly string TokenJson =
        $$"""{"access_token":"{{AccessToken}}","token_type":"Bearer","expires_in":3600,"refresh_token":"{{RefreshToken}}","scope":"records:update teams:read"}""";

    public static readonly string IdentityJson = JsonSerializer.Serialize(new
    {
        data = new
        {
            organization = new { id = OrganizationId },
            viewer = new { person = new { id = PersonId, name = PersonName, email = PersonEmail, image = PersonImage } },
        },
    });

    private readonly WebApplication _app;

    private FakePitchly(WebApplication app) => _app = app;

    /// <summary>Gets or sets the answer of <c>POST /api/oauth/token</c>.</summary>
    public Func<HttpContext, Task> TokenEndpoint { get; set; } = Respond(200, "application/json", TokenJson);

    /// <summary>Gets or sets the answer of <c>POST /graphql</c>.</summary>
    public Func<HttpContext, Task> GraphQLEndpoint { get; set; } = Respond(200, "application/json", IdentityJson);

    /// <summary>Gets the form bodies the token endpoint received.</summary>
    public ConcurrentQueue<IReadOnlyDictionary<string, string>> TokenRequests { get; } = new();

    /// <summary>Gets the Authorization header, content type and body of each GraphQL request.</summary>
    public ConcurrentQueue<(string? Authorization, string? ContentType, string Body)> GraphQLRequests { get; } = new();

    public static async Task<FakePitchly> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var pitchly = new FakePitchly(app);

        app.MapPost("/api/oauth/token", async context =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            pitchly.TokenRequests.Enqueue(form.ToDictionary(pair => pair.Key, pair => pair.Value.ToString()));
            await pitchly.TokenEndpoint(context);
        });
        app.MapPost("/graphql", async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            pitchly.GraphQLRequests.Enqueue((context.Request.Headers.Authorization.ToString(), context.Request.ContentType, body));
            await pitchly.GraphQLEndpoint(context);
        });

        await app.StartAsync(TestContext.Current.CancellationToken);
        return pitchly;
    }

    public static Func<HttpContext, Task> Respond(int status, string contentType, string body) => context =>
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        return context.Response.WriteAsync(body, context.RequestAborted);
    };

    public HttpMessageHandler CreateHandler() => _app.GetTestServer().CreateHandler();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
