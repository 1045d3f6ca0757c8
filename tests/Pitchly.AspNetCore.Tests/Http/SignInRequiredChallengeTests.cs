namespace Pitchly.AspNetCore.Tests.Http;

public sealed class SignInRequiredChallengeTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sign_in_required_in_a_page_navigation_becomes_a_challenge_that_returns_to_the_page()
    {
        await using var app = await StartAsync();
        var client = app.GetTestClient();

        using var response = await client.SendAsync(Navigation("/data?page=2"), Cancellation);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains("ReturnUrl=%2Fdata%3Fpage%3D2", response.Headers.Location!.ToString(), StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetAsync("/other", Cancellation));
    }

    [Theory]
    [InlineData("//evil.example/x", "/")]
    [InlineData("//evil.example/x?y=1", "/")]
    [InlineData("/%09/evil.example", "/")]
    [InlineData("/%5Cevil.example", "/")]
    [InlineData("/pages/x?next=//y", "/pages/x?next=//y")]
    public async Task A_challenge_from_a_catch_all_route_returns_only_to_a_local_page(string path, string expectedReturnUrl)
    {
        await using var app = await StartAsync();

        // An absolute URI: a relative "//evil.example/x" would be read as another host before it is sent.
        using var response = await app.GetTestClient().SendAsync(Navigation("http://localhost" + path), Cancellation);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.Equal("/Account/Login", location.IsAbsoluteUri ? location.AbsolutePath : location.OriginalString.Split('?')[0]);
        var returnUrl = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(location.IsAbsoluteUri ? location.Query : "?" + location.OriginalString.Split('?', 2)[1])["ReturnUrl"].ToString();
        Assert.Equal(expectedReturnUrl, returnUrl);
    }

    [Fact]
    public async Task A_browser_navigation_without_fetch_metadata_that_accepts_html_is_challenged()
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/data");
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");

        using var response = await app.GetTestClient().SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
    }

    [Theory]
    [InlineData("GET", "application/json", null, null)]
    [InlineData("GET", "*/*", null, null)]
    [InlineData("GET", null, null, null)]
    [InlineData("GET", "text/html", "cors", null)]
    [InlineData("GET", "text/html", "same-origin", null)]
    [InlineData("GET", "text/html", null, "XMLHttpRequest")]
    [InlineData("POST", "text/html", "navigate", null)]
    [InlineData("DELETE", "application/json", "cors", null)]
    public async Task Sign_in_required_in_an_API_or_fetch_call_is_a_401_problem_never_a_redirect(string method, string? accept, string? fetchMode, string? requestedWith)
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), "/data");
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }

        if (fetchMode is not null)
        {
            request.Headers.Add("Sec-Fetch-Mode", fetchMode);
        }

        if (requestedWith is not null)
        {
            request.Headers.Add("X-Requested-With", requestedWith);
        }

        using var response = await app.GetTestClient().SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null(response.Headers.Location);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal(CookieAuthenticationDefaults.AuthenticationScheme, challenge.Scheme);
        Assert.Contains("sign_in_required", challenge.Parameter, StringComparison.Ordinal);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!;
        Assert.Equal(401, problem["status"]!.GetValue<int>());
        Assert.Contains("sign in", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("psnAda", problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_401_problem_is_written_by_the_registered_problem_details_service()
    {
        await using var app = await StartAsync(services => services.AddProblemDetails(o =>
            o.CustomizeProblemDetails = context => context.ProblemDetails.Extensions["traceId"] = "trace-from-the-app"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/data");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        using var response = await app.GetTestClient().SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!;
        Assert.Equal("trace-from-the-app", problem["traceId"]!.GetValue<string>());
        Assert.Equal("Sign-in required", problem["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_challenge_names_the_configured_scheme()
    {
        await using var app = await StartAsync(scheme: "Pitchly");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/data");
        request.Headers.Accept.ParseAdd("application/json");

        using var response = await app.GetTestClient().SendAsync(request, Cancellation);

        Assert.Equal("Pitchly", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
    }

    [Fact]
    public async Task Missing_install_tokens_never_redirect_even_a_page_navigation()
    {
        await using var app = await StartAsync();
        var client = app.GetTestClient();

        using var navigation = await client.SendAsync(Navigation("/install"), Cancellation);
        using var api = await client.GetAsync("/install", Cancellation);

        foreach (var response in new[] { navigation, api })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Null(response.Headers.Location);
            Assert.Empty(response.Headers.WwwAuthenticate);
            Assert.Null(response.Headers.RetryAfter);
        }

        Assert.Contains("install", await PageAsync(navigation), StringComparison.Ordinal);
        var problem = await ProblemAsync(api);
        Assert.Equal(503, problem["status"]!.GetValue<int>());
        Assert.Equal("install-unavailable", problem["error"]!.GetValue<string>());
        Assert.Contains("install", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Paused_refreshing_is_a_retryable_503_problem_with_retry_after_never_a_sign_in_redirect()
    {
        await using var app = await StartAsync();
        var client = app.GetTestClient();

        using var navigation = await client.SendAsync(Navigation("/rejected"), Cancellation);
        using var api = await client.GetAsync("/rejected", Cancellation);

        foreach (var response in new[] { navigation, api })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Null(response.Headers.Location);
            Assert.InRange(response.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 30);
        }

        Assert.Contains("rejected every freshly issued access token", await PageAsync(navigation), StringComparison.Ordinal);
        var problem = await ProblemAsync(api);
        Assert.Equal(503, problem["status"]!.GetValue<int>());
        Assert.Contains("rejected every freshly issued access token", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unregistered_organization_is_a_403_problem_never_a_redirect_nor_a_retry()
    {
        await using var app = await StartAsync();
        var client = app.GetTestClient();

        using var navigation = await client.SendAsync(Navigation("/unregistered"), Cancellation);
        using var api = await client.GetAsync("/unregistered", Cancellation);

        foreach (var response in new[] { navigation, api })
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Null(response.Headers.Location);
            Assert.Null(response.Headers.RetryAfter);
        }

        Assert.Contains("Organization not registered", await PageAsync(navigation), StringComparison.Ordinal);
        var problem = await ProblemAsync(api);
        Assert.Equal(403, problem["status"]!.GetValue<int>());
        Assert.Equal("https://tools.ietf.org/html/rfc9110#section-15.5.4", problem["type"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/store", "store-unavailable")]
    [InlineData("/refresh-timeout", "refresh-timeout")]
    [InlineData("/lock-timeout", "refresh-lock-timeout")]
    [InlineData("/token-endpoint-down", "token-endpoint-unavailable")]
    public async Task A_retryable_failure_is_a_503_with_retry_after_a_problem_for_an_API_call_and_a_page_for_a_navigation(string path, string error)
    {
        await using var app = await StartAsync();
        var client = app.GetTestClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Add("Sec-Fetch-Mode", "cors");

        using var api = await client.SendAsync(request, Cancellation);
        using var navigation = await client.SendAsync(Navigation(path), Cancellation);

        foreach (var response in new[] { api, navigation })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
            Assert.Null(response.Headers.Location);
            Assert.True(response.Headers.CacheControl?.NoStore);
        }

        var problem = await ProblemAsync(api);
        Assert.Equal(503, problem["status"]!.GetValue<int>());
        Assert.Equal(error, problem["error"]!.GetValue<string>());
        Assert.Equal(5, problem["retryAfter"]!.GetValue<int>());
        Assert.Equal("https://tools.ietf.org/html/rfc9110#section-15.6.4", problem["type"]!.GetValue<string>());
        var page = await PageAsync(navigation);
        Assert.Contains("try again in 5 seconds", page, StringComparison.Ordinal);
        foreach (var body in new[] { problem.ToJsonString(), page })
        {
            Assert.DoesNotContain("psnAda", body, StringComparison.Ordinal);
            Assert.DoesNotContain("secret-in-message", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_token_endpoint_that_refuses_the_apps_credentials_is_a_502_problem_without_retry_after()
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().GetAsync("/token-endpoint-refused", Cancellation);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Null(response.Headers.RetryAfter);
        var problem = await ProblemAsync(response);
        Assert.Equal("token-endpoint-failed", problem["error"]!.GetValue<string>());
        Assert.DoesNotContain("invalid_client", problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_middleware_use_exception_handler_gives_the_same_answers_through_the_registered_exception_handler()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Services.AddProblemDetails();
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        builder.Services.AddPitchlyTokenManagement();
        await using var app = builder.Build();
        app.UseExceptionHandler();
        app.UseAuthentication();
        app.MapGet("/store", (HttpContext _) => Task.FromException(new PitchlyTokenStoreUnavailableException("secret-in-message")));
        app.MapGet("/data", (HttpContext _) => Task.FromException(new PitchlySignInRequiredException(PitchlyTokenKey.ForUser("orgAcme", "psnAda"), "gone")));
        app.MapGet("/other", (HttpContext _) => Task.FromException(new InvalidOperationException("unrelated")));
        await app.StartAsync(Cancellation);
        var client = app.GetTestClient();

        using var store = await client.GetAsync("/store", Cancellation);
        using var signIn = await client.GetAsync("/data", Cancellation);
        using var navigation = await client.SendAsync(Navigation("/data"), Cancellation);
        using var other = await client.GetAsync("/other", Cancellation);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, store.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), store.Headers.RetryAfter?.Delta);
        Assert.Equal("store-unavailable", (await ProblemAsync(store))["error"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, signIn.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, navigation.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, other.StatusCode);
    }

    private static async Task<JsonNode> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!;
    }

    private static async Task<string> PageAsync(HttpResponseMessage response)
    {
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync(Cancellation);
    }

    private static HttpRequestMessage Navigation(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");
        request.Headers.Add("Sec-Fetch-Mode", "navigate");
        request.Headers.Add("Sec-Fetch-Dest", "document");
        return request;
    }

    private static async Task<WebApplication> StartAsync(Action<IServiceCollection>? configure = null, string? scheme = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie()
            .AddCookie("Pitchly");
        configure?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseAuthentication();
        app.UsePitchlySignInRequiredChallenge(scheme);
        app.MapGet("/data", (HttpContext _) => Task.FromException(new PitchlySignInRequiredException(PitchlyTokenKey.ForUser("orgAcme", "psnAda"), "gone")));
        app.MapDelete("/data", (HttpContext _) => Task.FromException(new PitchlySignInRequiredException(PitchlyTokenKey.ForUser("orgAcme", "psnAda"), "gone")));
        app.MapPost("/data", (HttpContext _) => Task.FromException(new PitchlySignInRequiredException()));
        app.MapGet("/install", (HttpContext _) => Task.FromException(new PitchlySignInRequiredException(PitchlyTokenKey.ForInstall("orgAcme"), "install tokens refused")));
        app.MapGet("/rejected", (HttpContext _) => Task.FromException(new PitchlyTokenRejectedException(PitchlyTokenKey.ForUser("orgAcme", "psnAda"), DateTimeOffset.UtcNow.AddSeconds(30), "paused")));
        app.MapGet("/unregistered", (HttpContext _) => Task.FromException(new PitchlyOrganizationNotRegisteredException(PitchlyTokenKey.ForInstall("orgGlobex"), "not registered")));
        app.MapGet("/other", (HttpContext _) => Task.FromException(new InvalidOperationException("unrelated")));
        app.MapGet("/store", (HttpContext _) => Task.FromException(new PitchlyTokenStoreUnavailableException("secret-in-message psnAda")));
        app.MapGet("/refresh-timeout", (HttpContext _) => Task.FromException(new PitchlyRefreshTimeoutException(PitchlyTokenKey.ForUser("orgAcme", "psnAda"), TimeSpan.FromSeconds(30), "secret-in-message psnAda")));
        app.MapGet("/lock-timeout", (HttpContext _) => Task.FromException(new PitchlyRefreshLockTimeoutException(PitchlyTokenKey.ForUser("orgAcme", "psnAda"), TimeSpan.FromSeconds(15), "secret-in-message psnAda")));
        app.MapGet("/token-endpoint-down", (HttpContext _) => Task.FromException(new PitchlyTokenEndpointException("secret-in-message psnAda", "server_error", 500)));
        app.MapGet("/token-endpoint-refused", (HttpContext _) => Task.FromException(new PitchlyTokenEndpointException("secret-in-message invalid_client", "invalid_client", 401)));
        app.MapGet("/{**rest}", (HttpContext _) => Task.FromException(new PitchlySignInRequiredException(PitchlyTokenKey.ForUser("orgAcme", "psnAda"), "gone")));
        await app.StartAsync(Cancellation);
        return app;
    }
}
