using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Pitchly.AspNetCore.Redis.Tests;

/// <summary>
/// Two application instances (each its own Kestrel, Redis store and connections) sharing one real redis-server and a
/// Data Protection key ring, as behind a load balancer: a person's sessions are kept with their tokens in Redis, so a
/// sign-out on one instance is seen by the other.
/// </summary>
public sealed class SessionFarmTests(RedisServer redis) : IClassFixture<RedisServer>
{
    private static readonly PitchlyTokenKey Ada = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AdaLovelacePersonId);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_person_signed_in_in_two_browsers_on_two_instances_signs_out_in_one_and_the_other_keeps_calling_while_the_signed_out_cookie_replayed_is_challenged()
    {
        await using var emulator = await PitchlyEmulatorServer.StartAsync(o => o.AutoApprove = true, Cancel);
        var prefix = $"s{Guid.NewGuid():N}"[..12];
        var keyRing = Directory.CreateTempSubdirectory("pitchly-session-keys-");
        await using var first = await StartInstanceAsync(emulator, prefix, keyRing);
        await using var second = await StartInstanceAsync(emulator, prefix, keyRing);
        var (phone, phoneCookies) = SignedInWebApp.Browser();
        var (laptop, _) = SignedInWebApp.Browser();
        using (phone)
        using (laptop)
        {
            await SignedInWebApp.SignInAsync(phone, SignedInWebApp.AddressOf(first));
            await SignedInWebApp.SignInAsync(laptop, SignedInWebApp.AddressOf(second));
            var store = first.Services.GetRequiredService<IPitchlyTokenStore>();
            Assert.Equal(2, (await store.GetAsync(Ada, Cancel))!.Sessions!.Count);
            var phoneCookie = phoneCookies.GetCookies(SignedInWebApp.AddressOf(first))[".AspNetCore.Cookies"]!.Value;
            Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, await CallPitchlyAsync(laptop, SignedInWebApp.AddressOf(first)));
            Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, await CallPitchlyAsync(laptop, SignedInWebApp.AddressOf(second)));

            using (var signOut = await phone.GetAsync(new Uri(SignedInWebApp.AddressOf(first), "/signout"), Cancel))
            {
                Assert.Equal(HttpStatusCode.OK, signOut.StatusCode);
            }

            Assert.Null(phoneCookies.GetCookies(SignedInWebApp.AddressOf(first))[".AspNetCore.Cookies"]);
            Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, await CallPitchlyAsync(laptop, SignedInWebApp.AddressOf(second)));
            Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, await CallPitchlyAsync(laptop, SignedInWebApp.AddressOf(first)));
            Assert.Single((await second.Services.GetRequiredService<IPitchlyTokenStore>().GetAsync(Ada, Cancel))!.Sessions!);

            // The other instance hears of the change by pub/sub; until then its cached copy may still list the session.
            foreach (var instance in new[] { second, first })
            {
                await Eventually.HoldsAsync(
                    async () =>
                    {
                        using var replayed = await ReplayAsync(phoneCookie, new Uri(SignedInWebApp.AddressOf(instance), "/me"));
                        return replayed.StatusCode == HttpStatusCode.Redirect
                            && replayed.Headers.Location!.ToString().StartsWith(emulator.BaseAddress.ToString(), StringComparison.Ordinal);
                    },
                    Patience,
                    "the signed-out cookie, replayed, is challenged");
            }

            Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, await CallPitchlyAsync(laptop, SignedInWebApp.AddressOf(second)));
        }
    }

    [Fact]
    public async Task Signing_out_everywhere_on_one_instance_challenges_the_other_browser_on_the_other()
    {
        await using var emulator = await PitchlyEmulatorServer.StartAsync(o => o.AutoApprove = true, Cancel);
        var prefix = $"s{Guid.NewGuid():N}"[..12];
        var keyRing = Directory.CreateTempSubdirectory("pitchly-session-keys-");
        await using var first = await StartInstanceAsync(emulator, prefix, keyRing);
        await using var second = await StartInstanceAsync(emulator, prefix, keyRing);
        var (phone, _) = SignedInWebApp.Browser();
        var (laptop, _) = SignedInWebApp.Browser();
        using (phone)
        using (laptop)
        {
            await SignedInWebApp.SignInAsync(phone, SignedInWebApp.AddressOf(first));
            await SignedInWebApp.SignInAsync(laptop, SignedInWebApp.AddressOf(second));
            Assert.Equal(PitchlyEmulatorDefaults.AdaLovelacePersonId, await CallPitchlyAsync(laptop, SignedInWebApp.AddressOf(second)));

            using (var everywhere = await phone.GetAsync(new Uri(SignedInWebApp.AddressOf(first), "/signout-everywhere"), Cancel))
            {
                Assert.Equal(HttpStatusCode.OK, everywhere.StatusCode);
            }

            Assert.Null(await second.Services.GetRequiredService<IPitchlyTokenStore>().GetAsync(Ada, Cancel));
            await Eventually.HoldsAsync(
                async () =>
                {
                    using var other = await laptop.GetAsync(new Uri(SignedInWebApp.AddressOf(second), "/me"), Cancel);
                    return other.StatusCode == HttpStatusCode.Redirect;
                },
                Patience,
                "the other browser is challenged");
        }
    }

    [Fact]
    public async Task Sign_out_clears_the_cookie_while_redis_is_down()
    {
        await using var emulator = await PitchlyEmulatorServer.StartAsync(o => o.AutoApprove = true, Cancel);
        var prefix = $"s{Guid.NewGuid():N}"[..12];
        await using var instance = await StartInstanceAsync(emulator, prefix, Directory.CreateTempSubdirectory("pitchly-session-keys-"));
        var (phone, cookies) = SignedInWebApp.Browser();
        using (phone)
        {
            await SignedInWebApp.SignInAsync(phone, SignedInWebApp.AddressOf(instance));
            await redis.StopAsync();
            try
            {
                using var signOut = await phone.GetAsync(new Uri(SignedInWebApp.AddressOf(instance), "/signout"), Cancel);
                Assert.Equal(HttpStatusCode.OK, signOut.StatusCode);
                Assert.Null(cookies.GetCookies(SignedInWebApp.AddressOf(instance))[".AspNetCore.Cookies"]);
            }
            finally
            {
                await redis.StartAsync();
            }
        }
    }

    /// <summary>Asks the app for <c>/me</c>, which calls Pitchly's GraphQL API as the signed-in person.</summary>
    private static async Task<string> CallPitchlyAsync(HttpClient browser, Uri app)
    {
        using var response = await browser.GetAsync(new Uri(app, "/me"), Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(Cancel);
    }

    private static async Task<HttpResponseMessage> ReplayAsync(string cookie, Uri address)
    {
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, address);
        request.Headers.Add("Cookie", $".AspNetCore.Cookies={cookie}");
        return await client.SendAsync(request, Cancel);
    }

    private Task<WebApplication> StartInstanceAsync(PitchlyEmulatorServer emulator, string prefix, DirectoryInfo keyRing) =>
        SignedInWebApp.StartAsync(emulator, redis, prefix, keyRing);
}
