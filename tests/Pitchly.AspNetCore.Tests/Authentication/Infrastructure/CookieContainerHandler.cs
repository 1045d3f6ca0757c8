namespace Pitchly.AspNetCore.Tests.Authentication.Infrastructure;

/// <summary>Keeps cookies across requests to a TestServer, whose handler has no cookie support of its own.</summary>
public sealed class CookieContainerHandler(HttpMessageHandler innerHandler) : DelegatingHandler(innerHandler)
{
    public CookieContainer Container { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        var cookies = Container.GetCookieHeader(uri);
        if (cookies.Length > 0)
        {
            request.Headers.Add("Cookie", cookies);
        }

        var response = await base.SendAsync(request, cancellationToken);
        if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
        {
            foreach (var setCookie in setCookies)
            {
                Container.SetCookies(uri, setCookie);
            }
        }

        return response;
    }
}
