using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Pitchly.AspNetCore.Tests.TokenManagement;

/// <summary>Builds an application's services wired to a <see cref="FakePitchly"/>, with a controllable clock.</summary>
public static class TestServices
{
    public static readonly DateTimeOffset Start = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static ServiceProvider Create(FakePitchly pitchly, FakeTimeProvider time, Action<IServiceCollection>? configure = null, Action<PitchlyTokenManagementOptions>? options = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(time);
        services.AddPitchlyTokenManagement(o =>
        {
            o.ClientId = FakePitchly.ClientId;
            o.ClientSecret = FakePitchly.ClientSecret;
            o.TokenEndpoint = pitchly.TokenEndpoint;
            options?.Invoke(o);
        });
        configure?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>Signs a person in at the fake and stores their tokens as sign-in would, valid for one hour.</summary>
    public static async Task<PitchlyTokenRecord> SignInAsync(IServiceProvider services, FakePitchly pitchly, PitchlyTokenKey key, FakeTimeProvider time)
    {
        var (access, refresh) = pitchly.Issue(key.PersonId ?? key.Value);
        var now = time.GetUtcNow();
        return await services.GetRequiredService<IPitchlyTokenStore>().SetAsync(key, new PitchlyTokenRecord
        {
            AccessToken = access,
            RefreshToken = refresh,
            ExpiresAt = now.AddHours(1),
            IssuedAt = now,
            OrganizationId = key.OrganizationId,
        });
    }
}
