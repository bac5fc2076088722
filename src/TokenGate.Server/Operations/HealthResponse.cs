using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TokenGate.Server.Operations;

/// <summary>The body of /healthz and /readyz: <c>{"status":"Healthy"}</c> (200) or <c>{"status":"Unhealthy"}</c> (503), nothing more —
/// probes need the status code, and the reason goes to the log, not to whoever can reach the port.</summary>
public static class HealthResponse
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync($"{{\"status\":\"{report.Status}\"}}");
    }
}
