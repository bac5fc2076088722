// The baseline of the load benchmarks: what ASP.NET Core itself does on this machine with TokenGate's server settings (the
// same Kestrel limits, no Server header, the same logging levels and filters, endpoint routing) and no work at all: every
// request to /token.php gets the fixed body of a successful validate, with the headers TokenGate sends.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using TokenGate.Server.Hosting;
using TokenGate.Server.Operations;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
{
    InitialData = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
    },
});
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    ServerLimits.Apply(kestrel.Limits);
});
builder.Logging.SilenceSecretBearingCategories();

var app = builder.Build();
app.Map("/token.php", FixedAnswer.WriteAsync);
app.Map("/api/token.php", FixedAnswer.WriteAsync);
await app.RunAsync();

internal static class FixedAnswer
{
    // As long as TokenGate's answer to a valid token: {"success":true,"expire":N} with a 10-digit N.
    private static readonly byte[] Body = """{"success":true,"expire":1510515149}"""u8.ToArray();

    public static Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = Body.Length;
        response.Headers.CacheControl = "no-store";
        return response.Body.WriteAsync(Body, context.RequestAborted).AsTask();
    }
}
