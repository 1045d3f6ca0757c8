using Microsoft.AspNetCore.Hosting.Server;

namespace Pitchly.AspNetCore.Storm.Orchestration;

/// <summary>
/// A loopback reverse proxy (YARP) in front of the emulator's GraphQL endpoint that can be told to answer every call
/// 401 <c>UNAUTHENTICATED</c> without forwarding it, as a misconfigured gateway or a revoked app would: every token,
/// freshly issued ones included, is rejected.
/// </summary>
public sealed class RejectingGraphQLProxy : IAsyncDisposable
{
    private const string RejectionBody =
        """{"data":null,"errors":[{"message":"The access token is not valid.","extensions":{"code":"UNAUTHENTICATED"}}]}""";

    private readonly WebApplication _app;
    private long _rejected;
    private long _forwarded;
    private volatile bool _rejecting;

    private RejectingGraphQLProxy(WebApplication app, Uri address)
    {
        _app = app;
        BaseAddress = address;
    }

    /// <summary>Gets the proxy's address; paths are forwarded unchanged to the target.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Gets or sets whether every call is answered 401 instead of forwarded.</summary>
    public bool Rejecting
    {
        get => _rejecting;
        set => _rejecting = value;
    }

    /// <summary>Gets the calls answered 401 by the proxy.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Gets the calls forwarded to the target.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Starts a proxy on a free loopback port forwarding to <paramref name="target"/>.</summary>
    public static async Task<RejectingGraphQLProxy> StartAsync(Uri target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        RejectingGraphQLProxy? proxy = null;
        app.Use(async (context, next) =>
        {
            if (proxy!.Rejecting)
            {
                Interlocked.Increment(ref proxy._rejected);
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.ContentType = "application/json; charset=utf-8";
                await context.Response.WriteAsync(RejectionBody, context.RequestAborted);
                return;
            }

            Interlocked.Increment(ref proxy._forwarded);
            await next(context);
        });
        app.MapForwarder("/{**path}", target.GetLeftPart(UriPartial.Authority));
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        proxy = new RejectingGraphQLProxy(app, new Uri(address));
        return proxy;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
