using System.Net;
using System.Text.RegularExpressions;

namespace Pitchly.AspNetCore.Consumer.Tests;

/// <summary>
/// An HTTP client that signs in the way a browser does on a loopback app: it keeps cookies, follows redirects one by
/// one, and submits the emulator's consent page. Like a browser it treats http://127.0.0.1 as a secure context, so the
/// sign-in's Secure correlation cookie comes back over plain http.
/// </summary>
public sealed partial class LoopbackBrowser : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
    private readonly CookieContainer _cookies = new();

    /// <summary>Gets every URL visited, in order.</summary>
    public List<Uri> Visited { get; } = [];

    public async Task<HttpResponseMessage> GetAsync(Uri url, CancellationToken cancellationToken) =>
        await SendFollowingRedirectsAsync(new HttpRequestMessage(HttpMethod.Get, url), cancellationToken);

    /// <summary>Submits the consent page's form with its default choice and the approve button.</summary>
    public async Task<HttpResponseMessage> ApproveAsync(HttpResponseMessage consentPage, CancellationToken cancellationToken)
    {
        var html = await consentPage.Content.ReadAsStringAsync(cancellationToken);
        var action = FormAction().Match(html);
        Assert.True(action.Success, "The emulator's consent page has no form:\n" + html);
        var fields = HiddenField().Matches(html)
            .Select(m => KeyValuePair.Create(WebUtility.HtmlDecode(m.Groups["name"].Value), WebUtility.HtmlDecode(m.Groups["value"].Value)))
            .ToList();
        fields.Add(KeyValuePair.Create("person_id", WebUtility.HtmlDecode(CheckedPerson().Match(html).Groups["value"].Value)));
        fields.Add(KeyValuePair.Create("decision", "approve"));

        var target = new Uri(consentPage.RequestMessage!.RequestUri!, WebUtility.HtmlDecode(action.Groups["action"].Value));
        return await SendFollowingRedirectsAsync(new HttpRequestMessage(HttpMethod.Post, target) { Content = new FormUrlEncodedContent(fields) }, cancellationToken);
    }

    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> SendFollowingRedirectsAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        for (var hop = 0; ; hop++)
        {
            Assert.True(hop < 10, "More than 10 redirects: " + string.Join(" → ", Visited));
            Visited.Add(request.RequestUri!);
            request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");
            request.Headers.Add("Sec-Fetch-Mode", "navigate");
            var cookie = _cookies.GetCookieHeader(request.RequestUri!);
            if (cookie.Length > 0)
            {
                request.Headers.Add("Cookie", cookie);
            }

            var response = await _http.SendAsync(request, cancellationToken);
            if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
            {
                foreach (var setCookie in setCookies)
                {
                    _cookies.SetCookies(request.RequestUri!, SecureAttribute().Replace(setCookie, string.Empty));
                }
            }

            if ((int)response.StatusCode is not (301 or 302 or 303 or 307 or 308) || response.Headers.Location is null)
            {
                return response;
            }

            var next = new Uri(request.RequestUri!, response.Headers.Location);
            response.Dispose();
            request.Dispose();
            request = new HttpRequestMessage(HttpMethod.Get, next);
        }
    }

    [GeneratedRegex("<form id=\"consent\" method=\"post\" action=\"(?<action>[^\"]*)\">")]
    private static partial Regex FormAction();

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]*)\" value=\"(?<value>[^\"]*)\">")]
    private static partial Regex HiddenField();

    [GeneratedRegex("<input type=\"radio\" name=\"person_id\" id=\"[^\"]*\" value=\"(?<value>[^\"]*)\" checked>")]
    private static partial Regex CheckedPerson();

    [GeneratedRegex(@";\s*secure(?=;|$)", RegexOptions.IgnoreCase)]
    private static partial Regex SecureAttribute();
}
