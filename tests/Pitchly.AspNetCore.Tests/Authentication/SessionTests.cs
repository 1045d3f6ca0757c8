using Pitchly.AspNetCore.Internal.Authentication;
using Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

namespace Pitchly.AspNetCore.Tests.Authentication;

/// <summary>Tokens per person, sessions per sign-in: each browser signs out on its own, and an ended session's cookie is refused.</summary>
public sealed class SessionTests
{
    private static readonly PitchlyTokenKey Person = PitchlyTokenKey.ForUser(FakePitchly.OrganizationId, FakePitchly.PersonId);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_person_signed_in_in_two_browsers_signs_out_in_one_and_the_other_keeps_working_while_the_signed_out_cookie_replayed_is_challenged()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);
        var (laptop, laptopCookies) = app.OpenBrowser();
        using (laptop)
        {
            using (await app.SignInAsync())
            using (await app.SignInAsync(browser: laptop))
            {
            }

            var phoneCookie = app.AuthenticationCookie!;
            var phoneSession = SessionIn(app, phoneCookie);
            var laptopSession = SessionIn(app, SignInApp.AuthenticationCookieIn(laptopCookies)!);
            Assert.NotEqual(phoneSession, laptopSession);
            var both = await app.Store.GetAsync(Person, Cancellation);
            Assert.Equal([phoneSession, laptopSession], both!.Sessions!.Select(s => s.Id));

            using (var signOut = await app.Client.GetAsync("/signout", Cancellation))
            {
                Assert.Equal(HttpStatusCode.OK, signOut.StatusCode);
            }

            Assert.Null(app.AuthenticationCookie);
            using (var stillIn = await laptop.GetAsync("/private", Cancellation))
            {
                Assert.Equal(HttpStatusCode.OK, stillIn.StatusCode);
                Assert.Equal(FakePitchly.PersonId, await stillIn.Content.ReadAsStringAsync(Cancellation));
            }

            var kept = await app.Store.GetAsync(Person, Cancellation);
            Assert.Equal(FakePitchly.AccessToken, kept!.AccessToken);
            Assert.Equal([laptopSession], kept.Sessions!.Select(s => s.Id));
            Assert.Equal(FakePitchly.AccessToken, (await app.Services.GetRequiredService<IPitchlyTokenManager>().GetAccessTokenAsync(Person, Cancellation)).Value);

            using var replayed = await app.ReplayAsync(phoneCookie, "/private");
            Assert.Equal(HttpStatusCode.Redirect, replayed.StatusCode);
            Assert.StartsWith($"{FakePitchly.Origin}/oauth/authorize", replayed.Headers.Location!.ToString(), StringComparison.Ordinal);
            Assert.Contains(replayed.Headers.GetValues("Set-Cookie"), c => c.StartsWith(".AspNetCore.Cookies=;", StringComparison.Ordinal));
            Assert.Contains(app.Logs.GetSnapshot(), record => record.Id.Id == 1011 && record.Level == LogLevel.Information);
        }
    }

    [Fact]
    public async Task Signing_out_of_the_last_session_removes_the_tokens()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);
        var (laptop, _) = app.OpenBrowser();
        using (laptop)
        {
            using (await app.SignInAsync())
            using (await app.SignInAsync(browser: laptop))
            using (await app.Client.GetAsync("/signout", Cancellation))
            using (await laptop.GetAsync("/signout", Cancellation))
            {
            }

            Assert.Null(await app.Store.GetAsync(Person, Cancellation));
        }
    }

    [Fact]
    public async Task Signing_out_everywhere_ends_every_session_and_removes_the_tokens()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);
        var (laptop, laptopCookies) = app.OpenBrowser();
        using (laptop)
        {
            using (await app.SignInAsync())
            using (await app.SignInAsync(browser: laptop))
            {
            }

            using (var everywhere = await app.Client.GetAsync("/signout-everywhere", Cancellation))
            {
                Assert.Equal(HttpStatusCode.OK, everywhere.StatusCode);
            }

            Assert.Null(app.AuthenticationCookie);
            Assert.Null(await app.Store.GetAsync(Person, Cancellation));
            using var other = await laptop.GetAsync("/private", Cancellation);
            Assert.Equal(HttpStatusCode.Redirect, other.StatusCode);
            Assert.StartsWith($"{FakePitchly.Origin}/oauth/authorize", other.Headers.Location!.ToString(), StringComparison.Ordinal);
            Assert.Null(SignInApp.AuthenticationCookieIn(laptopCookies));
            Assert.Contains(app.Logs.GetSnapshot(), record => record.Id.Id == 1013);
        }
    }

    [Fact]
    public async Task A_cookie_issued_before_sessions_were_tracked_is_accepted_and_its_sign_out_leaves_the_tracked_sessions_their_tokens()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);
        using (await app.SignInAsync())
        {
        }

        var tracked = app.ReadAuthenticationTicket()!;
        var identity = (ClaimsIdentity)tracked.Principal.Identity!;
        identity.RemoveClaim(identity.FindFirst(PitchlyClaimTypes.SessionId));
        var format = app.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme).TicketDataFormat;
        var legacyCookie = format.Protect(new AuthenticationTicket(new ClaimsPrincipal(identity), tracked.Properties, tracked.AuthenticationScheme));

        using (var legacy = await app.ReplayAsync(legacyCookie, "/private"))
        {
            Assert.Equal(HttpStatusCode.OK, legacy.StatusCode);
        }

        using (var legacySignOut = await app.ReplayAsync(legacyCookie, "/signout"))
        {
            Assert.Equal(HttpStatusCode.OK, legacySignOut.StatusCode);
        }

        Assert.NotNull(await app.Store.GetAsync(Person, Cancellation));
        using var trackedBrowser = await app.Client.GetAsync("/private", Cancellation);
        Assert.Equal(HttpStatusCode.OK, trackedBrowser.StatusCode);
    }

    [Fact]
    public async Task A_record_written_before_sessions_were_tracked_lets_every_cookie_of_its_person_in_and_goes_at_sign_out()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);
        using (await app.SignInAsync())
        {
        }

        var record = await app.Store.GetAsync(Person, Cancellation);
        await app.Store.SetAsync(Person, record! with { Sessions = null }, Cancellation);

        using (var untracked = await app.Client.GetAsync("/private", Cancellation))
        {
            Assert.Equal(HttpStatusCode.OK, untracked.StatusCode);
        }

        using (await app.Client.GetAsync("/signout", Cancellation))
        {
        }

        Assert.Null(await app.Store.GetAsync(Person, Cancellation));
    }

    [Fact]
    public async Task A_sign_in_beyond_the_bound_ends_the_oldest_session()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        await using var app = await SignInApp.StartAsync(pitchly);
        using (await app.SignInAsync())
        {
        }

        var browsers = new List<HttpClient>();
        try
        {
            for (var i = 0; i < PitchlySessions.MaxSessionsPerPerson; i++)
            {
                var (browser, _) = app.OpenBrowser();
                browsers.Add(browser);
                using (await app.SignInAsync(browser: browser))
                {
                }
            }

            var record = await app.Store.GetAsync(Person, Cancellation);
            Assert.Equal(PitchlySessions.MaxSessionsPerPerson, record!.Sessions!.Count);
            using (var oldest = await app.Client.GetAsync("/private", Cancellation))
            {
                Assert.Equal(HttpStatusCode.Redirect, oldest.StatusCode);
            }

            foreach (var browser in browsers)
            {
                using var newer = await browser.GetAsync("/private", Cancellation);
                Assert.Equal(HttpStatusCode.OK, newer.StatusCode);
            }

            Assert.Single(app.Logs.GetSnapshot(), log => log.Id.Id == 1008);
        }
        finally
        {
            browsers.ForEach(b => b.Dispose());
        }
    }

    [Fact]
    public async Task Cookie_events_the_app_gives_as_a_type_still_run_behind_the_session_check()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var events = new CountingCookieEvents();
        await using var app = await SignInApp.StartAsync(pitchly, configureServices: services =>
        {
            services.AddSingleton(events);
            services.Configure<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme, o => o.EventsType = typeof(CountingCookieEvents));
        });
        using (await app.SignInAsync())
        {
        }

        var cookie = app.AuthenticationCookie!;
        using (var page = await app.Client.GetAsync("/private", Cancellation))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        }

        Assert.Equal(1, events.SignIns);
        Assert.Equal(1, events.Validated);
        using (await app.Client.GetAsync("/signout", Cancellation))
        {
        }

        using var replayed = await app.ReplayAsync(cookie, "/private");
        Assert.Equal(HttpStatusCode.Redirect, replayed.StatusCode);

        // The sign-out's own request was validated; the replayed cookie was rejected before the app's handler ran.
        Assert.Equal(2, events.Validated);
    }

    [Fact]
    public async Task Cookie_validation_lets_the_cookie_in_when_the_token_store_is_unreachable()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var store = new OutageTokenStore();
        await using var app = await SignInApp.StartAsync(pitchly, configureServices: services => services.AddSingleton<IPitchlyTokenStore>(store));
        using (await app.SignInAsync())
        {
        }

        store.Down = true;
        using var page = await app.Client.GetAsync("/private", Cancellation);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var warning = Assert.Single(app.Logs.GetSnapshot(), log => log.Id.Id == 1012);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.NotNull(app.AuthenticationCookie);
    }

    [Fact]
    public async Task Signing_out_everywhere_clears_the_cookie_when_the_token_store_is_unreachable()
    {
        await using var pitchly = await FakePitchly.StartAsync();
        var store = new OutageTokenStore();
        await using var app = await SignInApp.StartAsync(pitchly, configureServices: services => services.AddSingleton<IPitchlyTokenStore>(store));
        using (await app.SignInAsync())
        {
        }

        store.Down = true;
        using var signOut = await app.Client.GetAsync("/signout-everywhere", Cancellation);

        Assert.Equal(HttpStatusCode.OK, signOut.StatusCode);
        Assert.Null(app.AuthenticationCookie);
        var warning = Assert.Single(app.Logs.GetSnapshot(), log => log.Id.Id == 1014);
        Assert.IsType<PitchlyTokenStoreUnavailableException>(warning.Exception);
    }

    [Fact]
    public async Task Ending_one_session_waits_for_a_refresh_in_flight_whose_write_then_lands_and_keeps_its_tokens()
    {
        var store = new InMemoryPitchlyTokenStore();
        var now = DateTimeOffset.UtcNow;
        PitchlySession[] sessions = [new("phone", now), new("laptop", now)];
        var written = await store.SetAsync(Person, new PitchlyTokenRecord { AccessToken = "at_1", RefreshToken = "rt_1", ExpiresAt = now.AddHours(1), Sessions = sessions }, Cancellation);
        var fenced = await store.TryBeginRefreshAsync(Person, written.Version, "refresh-owner", TimeSpan.FromMinutes(1), Cancellation);

        var ending = PitchlySessions.EndAsync(store, Person, "phone", TimeProvider.System, Cancellation);
        await Task.Delay(200, Cancellation);
        Assert.False(ending.IsCompleted, "ending a session did not wait for the refresh's fence.");

        // The refresh stores its tokens by compare-and-swap on the version it fenced: a session change must not have moved it.
        var refreshed = await store.TryReplaceAsync(Person, fenced!.Version, fenced with { AccessToken = "at_2", RefreshToken = "rt_2", RefreshIntent = null }, Cancellation);
        Assert.NotNull(refreshed);

        var result = await ending;
        Assert.Equal(new SignOutResult(SignOutOutcome.SessionEnded, 1), result);
        var record = await store.GetAsync(Person, Cancellation);
        Assert.Equal("rt_2", record!.RefreshToken);
        Assert.Equal(["laptop"], record.Sessions!.Select(s => s.Id));
        Assert.Null(record.RefreshIntent);
    }

    [Fact]
    public async Task Sign_ins_racing_for_one_person_each_keep_their_session()
    {
        var store = new InMemoryPitchlyTokenStore();
        var now = DateTimeOffset.UtcNow;
        var sessions = Enumerable.Range(0, 12).Select(i => new PitchlySession($"s{i}", now.AddMilliseconds(i))).ToArray();
        using var start = new ManualResetEventSlim();

        var signIns = sessions.Select(session => Task.Run(
            async () =>
            {
                start.Wait(Cancellation);
                await PitchlySessions.SignInAsync(store, Person, new PitchlyTokenRecord { AccessToken = "at_" + session.Id, ExpiresAt = now.AddHours(1) }, session, Cancellation);
            },
            Cancellation)).ToArray();
        start.Set();
        await Task.WhenAll(signIns);

        var record = await store.GetAsync(Person, Cancellation);
        Assert.Equal(sessions.Select(s => s.Id).Order(), record!.Sessions!.Select(s => s.Id).Order());
    }

    [Fact]
    public async Task A_refresh_keeps_the_persons_sessions()
    {
        var user = PitchlyTokenKey.ForUser(PitchlyEmulatorDefaults.AcmeOrganizationId, PitchlyEmulatorDefaults.AdaLovelacePersonId);
        await using var app = await TokenManagement.TestServices.SignInAtEmulatorAsync(user);
        var store = app.Services.GetRequiredService<IPitchlyTokenStore>();
        PitchlySession[] sessions = [new("phone", TokenManagement.TestServices.Start), new("laptop", TokenManagement.TestServices.Start)];
        var signedIn = await store.SetAsync(user, app.Stored with { Sessions = sessions }, Cancellation);

        var refreshed = await app.Manager.RefreshAsync(user, signedIn.AccessToken, Cancellation);

        var record = await store.GetAsync(user, Cancellation);
        Assert.NotEqual(signedIn.AccessToken, refreshed.Value);
        Assert.Equal(refreshed.Value, record!.AccessToken);
        Assert.Equal(sessions, record.Sessions);
    }

    private static string SessionIn(SignInApp app, string cookie)
    {
        var format = app.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme).TicketDataFormat;
        return format.Unprotect(cookie)!.Principal.FindFirst(PitchlyClaimTypes.SessionId)!.Value;
    }

    public sealed class CountingCookieEvents : CookieAuthenticationEvents
    {
        private int _signedIn;
        private int _validated;

        public int SignIns => _signedIn;

        public int Validated => _validated;

        public override Task SignedIn(CookieSignedInContext context)
        {
            Interlocked.Increment(ref _signedIn);
            return base.SignedIn(context);
        }

        public override Task ValidatePrincipal(CookieValidatePrincipalContext context)
        {
            Interlocked.Increment(ref _validated);
            return base.ValidatePrincipal(context);
        }
    }
}
