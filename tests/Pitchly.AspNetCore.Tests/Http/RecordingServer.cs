namespace Pitchly.AspNetCore.Tests.Http;

/// <summary>A Kestrel server on a loopback port that records every request it receives, with its Authorization header and body.</summary>
public sealed class RecordingServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests;

    private RecordingServer(WebApplication app, ConcurrentQueue<RecordedRequest> requests, Uri address)
    {
        _app = app;
        _requests = requests;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Gets the server's origin, such as <c>http://127.0.0.1:5123</c>.</summary>
    public string Origin => Address.GetLeftPart(UriPartial.Authority);

    public IReadOnlyCollection<RecordedRequest> Requests => _requests.ToArray();

    public static async Task<RecordingServer> StartAsync(Func<HttpContext, Task> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var requests = new ConcurrentQueue<RecordedRequest>();
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            requests.Enqueue(new RecordedRequest(context.Request.Method, context.Request.Host.Value ?? string.Empty, context.Request.Path, context.Request.Headers.Authorization.ToString(), body));
            await answer(context);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new RecordingServer(app, requests, new Uri(app.Urls.First()));
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    /// <summary>One request as the server saw it.</summary>
    public sealed record RecordedRequest(string Method, string Host, string Path, string Authorization, string Body);
}
