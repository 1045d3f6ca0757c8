using Microsoft.Extensions.Logging.Testing;
using Pitchly.AspNetCore.Tests.TokenManagement;

namespace Pitchly.AspNetCore.Tests.Subscriptions;

/// <summary>An application's services with the subscription client, pointed at a <see cref="FakePitchly"/> on real Kestrel.</summary>
public sealed class SubscriptionApp : IAsyncDisposable
{
    public static readonly PitchlyTokenKey Ada = PitchlyTokenKey.ForUser("org1", "ada");

    private SubscriptionApp(FakePitchly pitchly, ServiceProvider services)
    {
        Pitchly = pitchly;
        Services = services;
    }

    public FakePitchly Pitchly { get; }

    public ServiceProvider Services { get; }

    public IPitchlySubscriptionClient Client => Services.GetRequiredService<IPitchlySubscriptionClient>();

    public FakeLogCollector Logs => Services.GetRequiredService<FakeLogCollector>();

    public static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static async Task<SubscriptionApp> StartAsync(Action<PitchlySubscriptionClientOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var pitchly = await FakePitchly.StartAsync();
        var collection = new ServiceCollection();
        collection.AddLogging(b => b.AddFakeLogging().SetMinimumLevel(LogLevel.Trace));
        collection.AddPitchlyTokenManagement(o =>
        {
            o.ClientId = FakePitchly.ClientId;
            o.ClientSecret = FakePitchly.ClientSecret;
            o.TokenEndpoint = pitchly.TokenEndpoint;
            o.TokenEndpointRetryTimeout = TimeSpan.Zero;
        });
        collection.AddPitchlySubscriptionClient(o =>
        {
            o.Endpoint = pitchly.SubscriptionEndpoint;
            o.ReconnectDelay = TimeSpan.FromMilliseconds(20);
            o.MaxReconnectDelay = TimeSpan.FromMilliseconds(200);
            configure?.Invoke(o);
        });
        services?.Invoke(collection);
        return new SubscriptionApp(pitchly, collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
    }

    /// <summary>Signs a person in at the fake and stores their tokens as sign-in would, valid for one hour.</summary>
    public async Task<PitchlyTokenRecord> SignInAsync(PitchlyTokenKey key) =>
        await Services.GetRequiredService<IPitchlyTokenStore>().SetAsync(key, Pitchly.SignIn(key, DateTimeOffset.UtcNow), Cancellation);

    public async Task<string> CurrentAccessTokenAsync(PitchlyTokenKey key) =>
        (await Services.GetRequiredService<IPitchlyTokenStore>().GetAsync(key, Cancellation))!.AccessToken;

    public void ActAs(PitchlyTokenKey key) => SignedInRequest.ActAs(Services, key, PitchlyClaimTypes.PersonId);

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Pitchly.DisposeAsync();
    }
}
