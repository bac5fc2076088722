using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace TokenGate.Client.Tests;

/// <summary>
/// Answers a TokenGate server gives only under load or failure (429, 503) and answers that are no token API body at all (a
/// proxy's error page, a dead port, a hung server), from a stand-in server on loopback.
/// </summary>
public sealed class TransportAndLimitTests
{
    private static ITokenApiClient Api(WebApp app, TokenFormat format = TokenFormat.Json, TimeSpan? timeout = null)
    {
        var http = Clients.Http();
        http.Timeout = timeout ?? TimeSpan.FromSeconds(30);
        return TokenClients.CreateApiClient(http, new TokenClientOptions { Endpoint = new Uri(app.BaseAddress, "token.php"), Format = format });
    }

    [Theory]
    [InlineData("json", "{\"success\":false,\"error\":\"Too many requests\"}", "application/json")]
    [InlineData("xml", "<result><success>0</success><error>Too many requests</error></result>", "application/xml")]
    [InlineData("none", "", "text/plain")]
    public async Task Http_429_is_rate_limited_with_its_retry_after(string kind, string body, string contentType)
    {
        await using var app = await WebApp.AnsweringAsync(429, body, contentType, r => r.Headers.RetryAfter = "7");

        var limited = await Assert.ThrowsAsync<TokenRateLimitedException>(() => Api(app).GetTokenAsync("user", "Secret-pw-429"));

        Assert.Equal(TimeSpan.FromSeconds(7), limited.RetryAfter);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("Too many requests", limited.Error);
        Assert.Equal("get", limited.Action);
        Assert.Contains("retry after 7 s", limited.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Secret-pw-429", limited.ToString(), StringComparison.Ordinal);
        _ = kind;
    }

    [Fact]
    public async Task A_retry_after_date_becomes_the_wait_from_the_servers_date()
    {
        var date = new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
        await using var app = await WebApp.AnsweringAsync(429, "{\"success\":false,\"error\":\"Too many requests\"}", headers: r =>
        {
            r.Headers.Date = date.ToString("R");
            r.Headers.RetryAfter = date.AddSeconds(30).ToString("R");
        });

        var limited = await Assert.ThrowsAsync<TokenRateLimitedException>(() => Api(app).ValidateTokenAsync(new string('a', 40)));

        Assert.Equal(TimeSpan.FromSeconds(30), limited.RetryAfter);
    }

    [Fact]
    public async Task Http_503_is_an_api_error_with_the_servers_text_and_retry_after()
    {
        await using var app = await WebApp.AnsweringAsync(503, "{\"success\":false,\"error\":\"Service unavailable\"}", headers: r => r.Headers.RetryAfter = "1");

        var unavailable = await Assert.ThrowsAsync<TokenApiException>(() => Api(app).GetTokenAsync("user", "password"));

        Assert.Equal(typeof(TokenApiException), unavailable.GetType());
        Assert.Equal("Service unavailable", unavailable.Error);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), unavailable.RetryAfter);
    }

    [Theory]
    [InlineData(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")]
    [InlineData(200, "Warning: mysql_connect(): Too many connections", "text/html")]
    [InlineData(200, "{\"data\":[]}", "application/json")]
    [InlineData(200, "{\"success\":true}", "application/json")]
    [InlineData(200, "{\"success\":true,\"token\":\"bad token\",\"expire\":1510514548}", "application/json")]
    [InlineData(200, "{\"success\":tru", "application/json")]
    public async Task A_body_that_is_not_a_usable_api_answer_is_a_transport_error(int status, string body, string contentType)
    {
        await using var app = await WebApp.AnsweringAsync(status, body, contentType);

        var failure = await Assert.ThrowsAsync<TokenTransportException>(() => Api(app).GetTokenAsync("user", "password"));

        Assert.Equal((HttpStatusCode)status, failure.StatusCode);
        Assert.Equal("get", failure.Action);
    }

    [Fact]
    public async Task A_body_larger_than_any_api_answer_is_not_read_to_its_end()
    {
        await using var app = await WebApp.AnsweringAsync(200, "{\"success\":true,\"token\":\"" + new string('a', 40) + "\",\"expire\":1,\"pad\":\"" + new string(' ', 100_000) + "\"}");

        await Assert.ThrowsAsync<TokenTransportException>(() => Api(app).GetTokenAsync("user", "password"));
    }

    [Fact]
    public async Task A_closed_port_is_a_transport_error()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var api = TokenClients.CreateApiClient(Clients.Http(), new TokenClientOptions { Endpoint = new Uri($"http://127.0.0.1:{port}/token.php") });

        var failure = await Assert.ThrowsAsync<TokenTransportException>(() => api.GetTokenAsync("user", "Secret-pw-closed"));

        Assert.IsType<HttpRequestException>(failure.InnerException);
        Assert.Null(failure.StatusCode);
        Assert.DoesNotContain("Secret-pw-closed", failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_in_time_is_a_transport_error_and_a_callers_cancellation_stays_a_cancellation()
    {
        await using var app = await WebApp.StartAsync(web => web.Map("/token.php", async (HttpContext context) => await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted)));

        var timeout = await Assert.ThrowsAsync<TokenTransportException>(() => Api(app, timeout: TimeSpan.FromMilliseconds(300)).GetTokenAsync("user", "password"));
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Api(app).GetTokenAsync("user", "password", cancellationToken: cancellation.Token));

        Assert.Contains("in time", timeout.Message, StringComparison.Ordinal);
    }
}
