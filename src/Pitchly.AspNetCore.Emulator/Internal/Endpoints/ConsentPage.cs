using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Pitchly.AspNetCore.Emulator.Internal.Endpoints;

/// <summary>
/// The emulator's consent and error pages. Element ids and labels are stable for browser tests:
/// <c>#approve</c>, <c>#deny</c>, one radio button <c>person_id</c> per person labelled with the person's name.
/// </summary>
internal static class ConsentPage
{
    private const string Style =
        "body{font-family:system-ui,sans-serif;background:#f5f6f8;color:#1d2330;margin:0}" +
        "main{max-width:34rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:.75rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}" +
        "fieldset{border:1px solid #d8dce3;border-radius:.5rem;margin:1rem 0}" +
        ".person{display:flex;align-items:center;gap:.5rem;margin:.4rem 0}.person small{color:#667}" +
        "button{font-size:1rem;padding:.5rem 1.25rem;border-radius:.4rem;border:1px solid #345;cursor:pointer;margin-right:.5rem}" +
        "#approve{background:#2150c4;color:#fff;border-color:#2150c4}.note{color:#667;font-size:.85rem}";

    public static Task WriteAsync(
        HttpContext context,
        PitchlyEmulatorClient client,
        IReadOnlyList<PitchlyEmulatorUser> users,
        IQueryCollection parameters,
        IEnumerable<string> forwardedParameters,
        string signature)
    {
        var html = HtmlEncoder.Default;
        var page = new StringBuilder();
        page.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authorize ")
            .Append(html.Encode(client.ClientId)).Append(" · Pitchly emulator</title><style>").Append(Style).Append("</style></head><body><main>")
            .Append("<h1>Authorize application</h1><p>The app <strong id=\"client-id\">").Append(html.Encode(client.ClientId))
            .Append("</strong> asks to use Pitchly on your behalf. Sign in as:</p>")
            .Append("<form id=\"consent\" method=\"post\" action=\"")
            .Append(html.Encode(context.Request.PathBase + context.Request.Path)).Append("\"><fieldset><legend>Person</legend>");

        for (var i = 0; i < users.Count; i++)
        {
            var user = users[i];
            var id = html.Encode("person-" + user.PersonId);
            page.Append("<div class=\"person\"><input type=\"radio\" name=\"person_id\" id=\"").Append(id)
                .Append("\" value=\"").Append(html.Encode(user.PersonId)).Append('"').Append(i == 0 ? " checked" : string.Empty)
                .Append("><label for=\"").Append(id).Append("\">").Append(html.Encode(user.Name)).Append("</label><small>")
                .Append(html.Encode(user.Email)).Append("</small></div>");
        }

        page.Append("</fieldset>");
        foreach (var name in forwardedParameters)
        {
            if (parameters.TryGetValue(name, out StringValues value))
            {
                Hidden(page, name, value.ToString());
            }
        }

        Hidden(page, "request_signature", signature);
        page.Append("<button type=\"submit\" id=\"approve\" name=\"decision\" value=\"approve\">Approve</button>")
            .Append("<button type=\"submit\" id=\"deny\" name=\"decision\" value=\"deny\">Deny</button></form>")
            .Append("<p class=\"note\">Served by the Pitchly emulator: no real account, no real data.</p></main></body></html>");
        return WriteHtmlAsync(context, StatusCodes.Status200OK, page.ToString());
    }

    public static Task WriteErrorAsync(HttpContext context, int statusCode, string message)
    {
        var page = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authorization error · Pitchly emulator</title><style>"
            + Style + "</style></head><body><main><h1>Authorization error</h1><p id=\"error\">" + HtmlEncoder.Default.Encode(message)
            + "</p><p class=\"note\">Served by the Pitchly emulator.</p></main></body></html>";
        return WriteHtmlAsync(context, statusCode, page);
    }

    private static void Hidden(StringBuilder page, string name, string value) =>
        page.Append("<input type=\"hidden\" name=\"").Append(HtmlEncoder.Default.Encode(name))
            .Append("\" value=\"").Append(HtmlEncoder.Default.Encode(value)).Append("\">");

    private static Task WriteHtmlAsync(HttpContext context, int statusCode, string html)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.XFrameOptions = "DENY";
        return context.Response.WriteAsync(html, context.RequestAborted);
    }
}
