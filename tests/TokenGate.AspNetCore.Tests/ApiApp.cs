using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGate.AspNetCore;
using TokenGate.Testing;

namespace TokenGate.AspNetCore.Tests;

/// <summary>
/// An API protected by the TokenGate scheme: Kestrel on 127.0.0.1 with a free port, spoken to over real HTTP. <c>/whoami</c>
/// requires an authenticated caller and answers with its claims, one per line; <c>/open</c> does not. Every log line of the app
/// is kept (at Trace) so a test can search them for secrets.
/// </summary>
public sealed class ApiApp : IAsyncDisposable
{
    private ApiApp(WebApplication app, CapturedLogs logs)
    {
        App = app;
        Logs = logs;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public CapturedLogs Logs { get; }

    public static async Task<ApiApp> StartAsync(
        Action<TokenGateOptions>? configure = null,
        TimeProvider? time = null,
        IReadOnlyDictionary<string, string?>? configuration = null,
        Action<WebApplicationBuilder>? services = null,
        Action<WebApplication>? pipeline = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(configuration ?? new Dictionary<string, string?>());
        var logs = new CapturedLogs();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.Services.AddAuthentication().AddTokenGate(configure ?? (_ => { })).AddTokenGateSqlite();
        builder.Services.AddAuthorization();
        services?.Invoke(builder);

        var app = builder.Build();
        pipeline?.Invoke(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapMethods("/whoami", ["GET", "POST"], (ClaimsPrincipal user) => string.Join("\n", user.Claims.Select(c => $"{c.Type}={c.Value}")))
            .RequireAuthorization();
        app.MapGet("/open", () => "open");
        app.MapGet("/ip", (HttpContext context) => context.Connection.RemoteIpAddress?.ToString());
        await app.StartAsync();
        return new ApiApp(app, logs);
    }

    public HttpClient CreateClient(IPAddress? source = null) => LoopbackClient.Create(BaseAddress, source);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>What <c>/whoami</c> answered: the status, the challenge, and the claims when authenticated.</summary>
public sealed record WhoAmI(HttpStatusCode Status, string? Challenge, IReadOnlyDictionary<string, string> Claims, string Body)
{
    public string? Name => Claims.GetValueOrDefault(ClaimTypes.Name);

    public static async Task<WhoAmI> ReadAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        var claims = response.StatusCode == HttpStatusCode.OK && !body.StartsWith('{')
            ? body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('=', 2)).ToDictionary(p => p[0], p => p[1])
            : [];
        var challenge = response.Headers.NonValidated.TryGetValues("WWW-Authenticate", out var values) ? string.Join(" | ", values) : null;
        return new WhoAmI(response.StatusCode, challenge, claims, body);
    }
}

/// <summary>How a test sends the token to the API.</summary>
public enum Carrier
{
    Header,
    Query,
    Form,
}

public static class ApiCalls
{
    public static async Task<WhoAmI> WhoAmIAsync(this HttpClient http, string? token, Carrier carrier = Carrier.Header, Action<HttpRequestMessage>? customize = null)
    {
        using var request = carrier switch
        {
            Carrier.Query => new HttpRequestMessage(HttpMethod.Get, token is null ? "whoami" : $"whoami?token={Uri.EscapeDataString(token)}"),
            Carrier.Form => new HttpRequestMessage(HttpMethod.Post, "whoami")
            {
                Content = new FormUrlEncodedContent(token is null ? [] : [new KeyValuePair<string, string>("token", token)]),
            },
            _ => new HttpRequestMessage(HttpMethod.Get, "whoami"),
        };
        if (carrier == Carrier.Header && token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        customize?.Invoke(request);
        using var response = await http.SendAsync(request);
        return await WhoAmI.ReadAsync(response);
    }
}
