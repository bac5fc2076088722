using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGate.Server.Hosting;
using TokenGate.Testing;
using TokenGate.Server.Operations;

namespace TokenGate.Server.Tests;

/// <summary>Health probes, metrics export over OTLP, and the redacted request log.</summary>
public sealed class OperationsTests
{
    [Fact]
    public async Task Configuration_files_are_read_once_and_not_watched_so_database_writes_under_the_content_root_wake_nothing()
    {
        await using var server = await TokenGateTestServer.StartAsync();

        var files = ((Microsoft.Extensions.Configuration.IConfigurationBuilder)server.App.Configuration).Sources
            .OfType<Microsoft.Extensions.Configuration.FileConfigurationSource>().ToList();
        Assert.Contains(files, f => f.Path == "appsettings.json");
        Assert.All(files, f => Assert.False(f.ReloadOnChange, $"{f.Path} is watched for changes"));
    }

    [Fact]
    public async Task Healthz_and_readyz_answer_200_while_the_store_answers()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        using var http = server.CreateClient();

        var live = await http.GetAsync("healthz");
        var ready = await http.GetAsync("readyz");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("{\"status\":\"Healthy\"}", await live.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("{\"status\":\"Healthy\"}", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Readyz_and_every_token_request_answer_503_while_the_store_is_unavailable_and_recover_after()
    {
        var (server, outage) = await OutageStore.StartServerAsync();
        await using var running = server;
        await server.CreateAccountAsync("patient", "patient password");
        using var http = server.CreateClient();
        var api = new TokenApiClient(http);
        var token = (await api.GetTokenAsync("patient", "patient password")).Token!;

        outage.Down = true;
        var ready = await http.GetAsync("readyz");
        var live = await http.GetAsync("healthz");
        var (validateResponse, validate) = await api.SendAsync(("action", "validate"), ("token", token));
        var (getResponse, get) = await new TokenApiClient(http, format: "xml").SendAsync(("action", "get"), ("username", "patient"), ("password", "patient password"));
        outage.Down = false;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("{\"status\":\"Unhealthy\"}", await ready.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Service unavailable"), (validateResponse.StatusCode, validate.Error));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Service unavailable"), (getResponse.StatusCode, get.Error));
        Assert.Equal("1", validateResponse.Headers.GetValues("Retry-After").Single());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("readyz")).StatusCode);
        Assert.True((await api.ValidateAsync(token)).Success);
    }

    /// <summary>
    /// Guesses fail closed: while the store cannot be reached, a wrong password (a wrong client secret) is answered 503 before any
    /// check, never <c>Authentication failure</c> or 401, with the guessing defences on (the default) and off. After the outage the
    /// same wrong password is checked and the right one gets a token.
    /// </summary>
    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    public async Task A_wrong_password_while_the_store_is_unavailable_is_answered_503_not_a_verdict(string loginThrottle)
    {
        var (server, outage) = await OutageStore.StartServerAsync(new Dictionary<string, string?> { ["LoginThrottle"] = loginThrottle });
        await using var running = server;
        await server.CreateAccountAsync("guarded", "guarded password");
        using var http = server.CreateClient();
        var api = new TokenApiClient(http, mode: SendMode.PostForm);
        var wrongSecret = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = "guarded", ["client_secret"] = "a wrong guess" };

        outage.Down = true;
        var (getResponse, get) = await api.SendAsync(("action", "get"), ("username", "guarded"), ("password", "a wrong guess"));
        using var oauth = await http.PostAsync("oauth2/token", new FormUrlEncodedContent(wrongSecret));
        var oauthBody = await oauth.Content.ReadAsStringAsync();
        outage.Down = false;

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Service unavailable"), (getResponse.StatusCode, get.Error));
        Assert.Equal("1", getResponse.Headers.GetValues("Retry-After").Single());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, oauth.StatusCode);
        Assert.Contains("\"temporarily_unavailable\"", oauthBody, StringComparison.Ordinal);
        Assert.Equal(0, server.Metrics.AuthenticationFailures);

        Assert.Equal("Authentication failure", (await api.GetTokenAsync("guarded", "a wrong guess")).Error);
        Assert.True((await api.GetTokenAsync("guarded", "guarded password")).Success);
    }

    [Fact]
    public async Task Oauth2_endpoints_answer_an_unavailable_store_with_an_rfc6749_503_not_a_contract_body()
    {
        var (server, outage) = await OutageStore.StartServerAsync();
        await using var running = server;
        await server.CreateAccountAsync("oauth-patient", "patient password");
        using var http = server.CreateClient();
        var credentials = new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = "oauth-patient",
            ["client_secret"] = "patient password",
            ["token"] = new string('a', 40),
        };

        outage.Down = true;
        var answers = new List<(HttpResponseMessage Response, string Body)>();
        foreach (var path in new[] { "oauth2/token", "oauth2/revoke", "oauth2/introspect" })
        {
            var response = await http.PostAsync(path, new FormUrlEncodedContent(credentials));
            answers.Add((response, await response.Content.ReadAsStringAsync()));
        }

        outage.Down = false;
        var recovered = await http.PostAsync("oauth2/token", new FormUrlEncodedContent(credentials));

        Assert.All(answers, answer =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Response.StatusCode);
            Assert.Equal("1", answer.Response.Headers.GetValues("Retry-After").Single());
            Assert.Equal("application/json", answer.Response.Content.Headers.ContentType?.MediaType);
            Assert.True(answer.Response.Headers.CacheControl?.NoStore, "Cache-Control: no-store");
            using var body = System.Text.Json.JsonDocument.Parse(answer.Body);
            Assert.Equal("temporarily_unavailable", body.RootElement.GetProperty("error").GetString());
            Assert.False(body.RootElement.TryGetProperty("success", out _), answer.Body);
        });
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
    }

    [Fact]
    public async Task Metrics_are_exported_over_otlp_when_an_endpoint_is_configured()
    {
        var received = new ConcurrentQueue<(string Path, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var collector = builder.Build();
        collector.MapPost("/v1/metrics", async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.Path, body.ToArray()));
            context.Response.ContentType = "application/x-protobuf";
        });
        await collector.StartAsync();
        var collectorUrl = collector.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["OtlpEndpoint"] = collectorUrl,
            ["OtlpExportInterval"] = "1s",
        });
        await server.CreateAccountAsync("measured", "measured password");
        var client = new TokenApiClient(server.CreateClient());
        var token = (await client.GetTokenAsync("measured", "measured password")).Token!;
        await client.ValidateAsync(token);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        string all;
        do
        {
            await Task.Delay(250);
            all = string.Join("\n", received.Select(r => Encoding.UTF8.GetString(r.Body)));
        }
        while (!(all.Contains("tokengate.requests", StringComparison.Ordinal) && all.Contains("tokengate.request.duration", StringComparison.Ordinal)) && DateTime.UtcNow < deadline);

        Assert.All(received, r => Assert.Equal("/v1/metrics", r.Path));
        Assert.Contains("tokengate.requests", all, StringComparison.Ordinal);
        Assert.Contains("tokengate.tokens.issued", all, StringComparison.Ordinal);
        Assert.Contains("tokengate.request.duration", all, StringComparison.Ordinal);
        Assert.DoesNotContain(token, all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_request_log_writes_one_line_per_request_with_every_secret_redacted()
    {
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["RequestLog"] = "true" });
        await server.CreateAccountAsync("logged", "logged password");
        using var http = server.CreateClient();
        var token = ContractBody.ParseJson(await http.GetStringAsync("token.php?action=get&username=logged&password=logged%20password")).Token!;
        await http.GetStringAsync($"api/token.php?action=validate&token={token}&format=xml");
        await http.GetStringAsync("token.php?action=validate&token=not-a-token");

        var lines = await server.Logs.WaitForAsync(l => l.Contains(RequestLogging.Category, StringComparison.Ordinal), 3, TimeSpan.FromSeconds(10));
        var id = Tokens.TokenValue.IdOf(Tokens.TokenValue.ComputeDigest(token));

        // Each line is written once its answer has gone, so two lines may land in either order.
        Assert.Equal(3, lines.Count);
        Assert.Single(lines, l => l.Contains("GET /token.php?action=get&username=logged&password=*** 200", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains($"GET /api/token.php?action=validate&token=id:{id}&format=xml 200", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("GET /token.php?action=validate&token=*** 200", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Contains("from 127.0.0.1", l, StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains(token, StringComparison.Ordinal) || l.Contains("logged password", StringComparison.Ordinal) || l.Contains("logged%20password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_duration_histogram_and_the_active_token_gauge_are_recorded()
    {
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["SweepInterval"] = "1s" });
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        var durations = new ConcurrentBag<double>();
        var gauge = new ConcurrentBag<long>();
        var scope = server.App.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, scope))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == "tokengate.request.duration")
            {
                durations.Add(value);
            }
        });
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "tokengate.tokens.active")
            {
                gauge.Add(value);
            }
        });
        listener.Start();
        await server.CreateAccountAsync("gauged", "gauged password");
        var client = new TokenApiClient(server.CreateClient());
        await client.GetTokenAsync("gauged", "gauged password");
        await client.GetTokenAsync("gauged", "gauged password", "10.0.0.1");

        var deadline = DateTime.UtcNow.AddSeconds(15);
        do
        {
            await Task.Delay(200);
            listener.RecordObservableInstruments();
        }
        while (!gauge.Contains(2) && DateTime.UtcNow < deadline);

        Assert.Equal(2, durations.Count);
        Assert.All(durations, d => Assert.InRange(d, 0, 5));
        Assert.Contains(2L, gauge);
    }
}
