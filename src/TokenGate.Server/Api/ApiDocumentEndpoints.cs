using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

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

    public static void MapApiDocument(this WebApplication app)
    {
        app.MapGet("/openapi.json", context => WriteAsync(context, Document, "application/json; charset=utf-8"));
        app.MapGet("/docs", context => WriteAsync(context, Page, "text/html; charset=utf-8"));
    }

    private static Task WriteAsync(HttpContext context, byte[] content, string contentType)
    {
        context.Response.ContentType = contentType;
        context.Response.ContentLength = content.Length;
        context.Response.Headers.CacheControl = "public, max-age=300";
        context.Response.Headers.ContentSecurityPolicy = "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'";
        return context.Response.Body.WriteAsync(content, context.RequestAborted).AsTask();
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
