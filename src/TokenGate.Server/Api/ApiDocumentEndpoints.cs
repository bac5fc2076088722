using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;

namespace TokenGate.Server.Api;

/// <summary>
/// The OpenAPI 3.1 document (<c>/openapi.json</c>) and a page that renders it (<c>/docs</c>). The document is written by hand
/// (token.php's one path with four actions and two formats is not what endpoint metadata can describe) and embedded from
/// src/TokenGate.Server/Api/OpenApi/openapi.json; a test keeps it in step with the routes the server maps.
/// </summary>
public static class ApiDocumentEndpoints
{
    public static readonly byte[] Document = Read("openapi.json");
    public static readonly byte[] Page = Read("docs.html");

    /// <summary>
    /// The page's policy: nothing but its own inline script and style (allowed by their SHA-256, so no <c>'unsafe-inline'</c>)
    /// and a fetch of the document; it may not be framed, change its base URL, embed plugins or submit forms.
    /// </summary>
    public static readonly string PagePolicy =
        $"default-src 'none'; script-src '{InlineHash("script")}'; style-src '{InlineHash("style")}'; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'none'";

    private static readonly string[] GetOrHead = [HttpMethods.Get, HttpMethods.Head];

    private const string DocumentPolicy = "default-src 'none'; frame-ancestors 'none'";

    public static void MapApiDocument(this WebApplication app)
    {
        // HEAD is GET without the body (RFC 9110 §9.3.2): Kestrel sends the same headers, Content-Length included, and drops the body.
        app.MapMethods("/openapi.json", GetOrHead, context => WriteAsync(context, Document, "application/json; charset=utf-8", DocumentPolicy));
        app.MapMethods("/docs", GetOrHead, context => WriteAsync(context, Page, "text/html; charset=utf-8", PagePolicy));
    }

    private static Task WriteAsync(HttpContext context, byte[] content, string contentType, string policy)
    {
        context.Response.ContentType = contentType;
        context.Response.ContentLength = content.Length;
        context.Response.Headers.CacheControl = "public, max-age=300";
        context.Response.Headers.ContentSecurityPolicy = policy;
        return context.Response.Body.WriteAsync(content, context.RequestAborted).AsTask();
    }

    /// <summary>The CSP source of the page's one inline <c>&lt;script&gt;</c> or <c>&lt;style&gt;</c>: the SHA-256 of its text.</summary>
    private static string InlineHash(string element)
    {
        var page = Encoding.UTF8.GetString(Page);
        var open = page.IndexOf($"<{element}>", StringComparison.Ordinal);
        var close = page.IndexOf($"</{element}>", StringComparison.Ordinal);
        if (open < 0 || close < open || page.IndexOf($"<{element}", open + 1, StringComparison.Ordinal) >= 0)
        {
            throw new InvalidOperationException($"docs.html must hold exactly one plain <{element}> element.");
        }

        var text = page[(open + element.Length + 2)..close];
        return "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(ApiDocumentEndpoints).Assembly.GetManifestResourceStream("TokenGate.Server.OpenApi." + name)
            ?? throw new InvalidOperationException($"The embedded resource {name} is missing.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
