using System.Net;

namespace Pitchly.AspNetCore.Aspire.Tests;

/// <summary>
/// Follows redirects and keeps cookies per host like a browser on loopback, which also sends the sign-in's Secure
/// correlation cookie over plain http to localhost (HttpClient's CookieContainer does not).
/// </summary>
internal sealed class LoopbackBrowser : IDisposable
{
    private readonly HttpClient http = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) };
    private readonly Dictionary<string, Dictionary<string, string>> cookies = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Loads <paramref name="address"/>, following redirects; returns where it ended and the page (which must be 200).</summary>
    public Task<(Uri At, string Page)> GetAsync(Uri address, CancellationToken cancellationToken)
        => SendAsync(HttpMethod.Get, address, form: null, cancellationToken);

    /// <summary>Submits a form as a browser does (urlencoded POST), then follows the redirects with GET.</summary>
    public Task<(Uri At, string Page)> PostFormAsync(Uri address, IEnumerable<KeyValuePair<string, string>> form, CancellationToken cancellationToken)
        => SendAsync(HttpMethod.Post, address, form, cancellationToken);

    private async Task<(Uri At, string Page)> SendAsync(HttpMethod method, Uri address, IEnumerable<KeyValuePair<string, string>>? form, CancellationToken cancellationToken)
    {
        for (var hop = 0; hop < 10; hop++)
        {
            using var request = new HttpRequestMessage(method, address);
            if (form is not null)
            {
                request.Content = new FormUrlEncodedContent(form);
            }

            if (cookies.TryGetValue(address.Host, out var jar) && jar.Count > 0)
            {
                request.Headers.Add("Cookie", string.Join("; ", jar.Select(cookie => cookie.Key + "=" + cookie.Value)));
            }

            using var response = await http.SendAsync(request, cancellationToken);
            if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
            {
                jar = cookies.TryGetValue(address.Host, out var existing) ? existing : cookies[address.Host] = new(StringComparer.Ordinal);
                foreach (var setCookie in setCookies)
                {
                    var pair = setCookie.Split(';')[0].Split('=', 2);
                    var expired = setCookie.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase);
                    if (expired)
                    {
                        jar.Remove(pair[0]);
                    }
                    else
                    {
                        jar[pair[0]] = pair[1];
                    }
                }
            }

            if (response.Headers.Location is { } location)
            {
                // After a redirect a browser loads the new address with GET (302 and 303 after a form's POST).
                address = new Uri(address, location);
                method = HttpMethod.Get;
                form = null;
                continue;
            }

            var page = await response.Content.ReadAsStringAsync(cancellationToken);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} at {address}: {page}");
            return (address, page);
        }

        throw new InvalidOperationException($"Too many redirects, last at {address}.");
    }

    public void Dispose() => http.Dispose();
}
