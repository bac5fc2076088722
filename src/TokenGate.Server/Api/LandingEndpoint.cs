using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Net.Http.Headers;

namespace TokenGate.Server.Api;

/// <summary>
/// <c>GET /</c>: where a newcomer (or a curl) starts. A browser (<c>Accept: text/html</c>) is redirected to the <c>/docs</c>
/// page; anything else gets a small JSON object naming the endpoints. Nothing about the deployment (no version, no settings).
/// </summary>
public static class LandingEndpoint
{
    public static readonly byte[] Body = Encoding.UTF8.GetBytes(
        """{"service":"TokenGate","token":"/token.php","docs":"/docs","openapi":"/openapi.json","health":"/healthz","ready":"/readyz","oauth2":["/oauth2/token","/oauth2/revoke","/oauth2/introspect"]}""");

    public static void MapLanding(this WebApplication app) => app.MapGet("/", WriteAsync);

    private static Task WriteAsync(HttpContext context)
    {
        context.Response.Headers.CacheControl = "public, max-age=300";
        context.Response.Headers.Vary = HeaderNames.Accept;
        if (context.Request.GetTypedHeaders().Accept.Any(type => type.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase)))
        {
            // Relative, so that it stays right behind a proxy that serves TokenGate under a path.
            context.Response.Redirect("docs");
            return Task.CompletedTask;
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = Body.Length;
        return context.Response.Body.WriteAsync(Body, context.RequestAborted).AsTask();
    }
}
