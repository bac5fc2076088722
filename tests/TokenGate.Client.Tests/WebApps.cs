using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGate.Testing;

namespace TokenGate.Client.Tests;

/// <summary>A small Kestrel app on 127.0.0.1 with a free port, for answers a TokenGate server never gives.</summary>
public sealed class WebApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebApp(WebApplication app)
    {
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
    }

    public Uri BaseAddress { get; }

    public static async Task<WebApp> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return new WebApp(app);
    }

    /// <summary>Answers every request to token.php with one fixed response.</summary>
    public static Task<WebApp> AnsweringAsync(int status, string body, string contentType = "application/json; charset=utf-8", Action<HttpResponse>? headers = null) =>
        StartAsync(app => app.Map("/token.php", async context =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = contentType;
            headers?.Invoke(context.Response);
            await context.Response.WriteAsync(body);
        }));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// An API protected by TokenGate tokens, the ContactNow way: it takes the token from the <c>token</c> query parameter (or a
/// bearer header), asks the TokenGate server's <c>validate</c> about it, and answers a refusal as the query's <c>style</c> says:
/// HTTP 200 with a JSON body (the default) or an XML body, or HTTP 401. <c>reject=always</c> refuses every token.
/// </summary>
public sealed class ProtectedApi : IAsyncDisposable
{
    private readonly WebApp _app;
    private int _attempts;

    private ProtectedApi(WebApp app) => _app = app;

    public Uri BaseAddress => _app.BaseAddress;

    public int Attempts => Volatile.Read(ref _attempts);

    public List<string> TokensSeen { get; } = [];

    public List<string> BodiesSeen { get; } = [];

    public static async Task<ProtectedApi> StartAsync(TokenGateTestServer server)
    {
        ProtectedApi? api = null;
        var validator = new TokenApiClient(server.CreateClient(LoopbackClient.First));
        var app = await WebApp.StartAsync(web =>
        {
            web.Map("/data", async context => await api!.HandleAsync(context, validator));
            web.Map("/large", async context =>
            {
                Interlocked.Increment(ref api!._attempts);
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{\"success\":true,\"data\":\"" + new string('x', 100_000) + "\"}");
            });
        });
        api = new ProtectedApi(app);
        return api;
    }

    private async Task HandleAsync(HttpContext context, TokenApiClient validator)
    {
        Interlocked.Increment(ref _attempts);
        var request = context.Request;
        var token = request.Query["token"].ToString();
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            token = authorization["Bearer ".Length..];
        }

        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync();
        }

        lock (TokensSeen)
        {
            TokensSeen.Add(token);
            BodiesSeen.Add(body);
        }

        var error = request.Query["reject"] == "always" ? "Invalid token"
            : token.Length == 0 ? "Invalid token"
            : (await validator.ValidateAsync(token)) is { Success: false } validation ? validation.Error
            : null;
        if (error is null)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($"{{\"success\":true,\"data\":\"hello\",\"received\":{body.Length}}}");
            return;
        }

        switch (request.Query["style"].ToString())
        {
            case "401":
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync($"{{\"success\":false,\"error\":\"{error}\"}}");
                break;
            case "xml":
                context.Response.ContentType = "application/xml";
                await context.Response.WriteAsync($"<?xml version=\"1.0\"?>\n<result><success>0</success><error>{error}</error></result>");
                break;
            case "chunked":
                context.Response.ContentType = "text/html; charset=UTF-8";
                await context.Response.WriteAsync("{\"success\":false,");
                await context.Response.Body.FlushAsync();
                await context.Response.WriteAsync($"\"error\":\"{error}\"}}");
                break;
            default:
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync($"{{\"success\":false,\"error\":\"{error}\"}}");
                break;
        }
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
