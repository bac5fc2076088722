using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TokenGate.AspNetCore.Validation;
using TokenGate.Testing;

namespace TokenGate.AspNetCore.Tests;

/// <summary>
/// Remote mode end to end over loopback against a real TokenGate server on the real clock: the revocation lag as configured, the
/// cache's bounds, single flight, what is never cached, and the introspection endpoint itself (RFC 7662).
/// </summary>
public sealed class RemoteModeTests : IAsyncLifetime
{
    private const string ResourceServer = "resource-api";
    private const string ResourceServerPassword = "resource server password";

    private TokenGateTestServer _server = null!;
    private readonly IntrospectionCounter _introspections = new();

    public async ValueTask InitializeAsync()
    {
        _server = await TokenGateTestServer.StartAsync();
        await _server.CreateAccountAsync(ResourceServer, ResourceServerPassword);
        await _server.Accounts.SetIntrospectionAsync(ResourceServer, true, CancellationToken.None);
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private Task<ApiApp> StartApiAsync(Action<TokenGateOptions>? configure = null, Uri? authority = null) =>
        ApiApp.StartAsync(
            options =>
            {
                options.Mode = TokenGateMode.Remote;
                options.Authority = authority ?? _server.BaseAddress;
                options.ClientId = ResourceServer;
                options.ClientSecret = ResourceServerPassword;
                configure?.Invoke(options);
            },
            services: builder => builder.Services.AddHttpClient(TokenGateDefaults.BackchannelHttpClientName).AddHttpMessageHandler(() => _introspections.CreateHandler()));

    private async Task<string> NewTokenAsync(string? address = null)
    {
        var name = "user-" + Guid.NewGuid().ToString("N")[..12];
        await _server.CreateAccountAsync(name, "holder password");
        using var http = _server.CreateClient();
        return (await new TokenApiClient(http).GetTokenAsync(name, "holder password", address)).Token!;
    }

    private async Task DeleteAsync(string token)
    {
        using var http = _server.CreateClient();
        Assert.True((await new TokenApiClient(http).DeleteAsync(token)).Success);
    }

    [Fact]
    public async Task A_deleted_token_passes_for_at_most_the_configured_cache_duration_then_is_refused()
    {
        await using var api = await StartApiAsync(options => options.IntrospectionCacheDuration = TimeSpan.FromSeconds(2));
        using var http = api.CreateClient();
        var token = await NewTokenAsync();
        Assert.Equal(HttpStatusCode.OK, (await http.WhoAmIAsync(token)).Status);

        // The answer was cached before that response was sent: it may serve until at most 2 s from now.
        var cachedAt = Stopwatch.StartNew();

        await DeleteAsync(token);
        var rightAfterDelete = await http.WhoAmIAsync(token);
        var rightAfterDeleteAt = cachedAt.Elapsed;
        var refusedAfter = TimeSpan.Zero;
        while (cachedAt.Elapsed < TimeSpan.FromSeconds(5))
        {
            if ((await http.WhoAmIAsync(token)).Status == HttpStatusCode.Unauthorized)
            {
                refusedAfter = cachedAt.Elapsed;
                break;
            }

            await Task.Delay(50);
        }

        // Still inside the lag (unless the machine was too slow to tell): the cached answer serves.
        Assert.True(rightAfterDeleteAt > TimeSpan.FromSeconds(1.5) || rightAfterDelete.Status == HttpStatusCode.OK);
        Assert.InRange(refusedAfter, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(2.0) + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.WhoAmIAsync(token)).Status);
    }

    [Fact]
    public async Task With_a_cache_duration_of_zero_a_deleted_token_is_refused_at_once()
    {
        await using var api = await StartApiAsync(options => options.IntrospectionCacheDuration = TimeSpan.Zero);
        using var http = api.CreateClient();
        var token = await NewTokenAsync();
        Assert.Equal(HttpStatusCode.OK, (await http.WhoAmIAsync(token)).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.WhoAmIAsync(token)).Status);

        await DeleteAsync(token);

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.WhoAmIAsync(token)).Status);
        Assert.Equal(3, _introspections.Count);
    }

    [Fact]
    public async Task Concurrent_requests_with_one_new_token_share_one_introspection_and_later_ones_use_the_cache()
    {
        await using var api = await StartApiAsync();
        var token = await NewTokenAsync();
        _introspections.Delay = TimeSpan.FromMilliseconds(300);

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var http = api.CreateClient();
            return (await http.WhoAmIAsync(token)).Status;
        }));
        using var again = api.CreateClient();
        var later = await again.WhoAmIAsync(token);

        Assert.All(answers, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(HttpStatusCode.OK, later.Status);
        Assert.Equal(1, _introspections.Count);
    }

    [Fact]
    public async Task Inactive_answers_are_cached_for_the_negative_duration_only_and_malformed_tokens_are_never_sent()
    {
        await using var cached = await StartApiAsync();
        await using var uncached = await StartApiAsync(options => options.NegativeCacheDuration = TimeSpan.Zero);
        using var http = cached.CreateClient();
        using var other = uncached.CreateClient();
        const string Unknown = "0123456789abcdef0123456789abcdef01234567";

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.WhoAmIAsync(Unknown)).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.WhoAmIAsync("not-a-token")).Status);
        }

        var afterCached = _introspections.Count;
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await other.WhoAmIAsync(Unknown)).Status);
        }

        Assert.Equal(1, afterCached);
        Assert.Equal(4, _introspections.Count);
    }

    [Fact]
    public async Task The_cache_never_holds_more_than_its_bound()
    {
        await using var api = await StartApiAsync(options => options.MaxCachedIntrospections = 3);
        using var http = api.CreateClient();

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await http.WhoAmIAsync(await NewTokenAsync())).Status);
        }

        var options = api.App.Services.GetRequiredService<IOptionsMonitor<TokenGateOptions>>().Get(TokenGateDefaults.AuthenticationScheme);
        var verifier = (RemoteTokenVerifier)api.App.Services.GetRequiredService<TokenVerifiers>().Get(TokenGateDefaults.AuthenticationScheme, options);
        Assert.InRange(verifier.CachedCount, 1, 3);
    }

    [Fact]
    public async Task An_account_that_is_not_a_resource_server_is_refused_introspection_and_the_api_answers_503_not_401()
    {
        await _server.CreateAccountAsync("plain-account", "plain account password");
        await using var api = await StartApiAsync(options =>
        {
            options.ClientId = "plain-account";
            options.ClientSecret = "plain account password";
        });
        using var http = api.CreateClient();
        var token = await NewTokenAsync();

        using var response = await http.GetAsync($"whoami?token={token}");
        using var again = await http.GetAsync($"whoami?token={token}");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("1", response.Headers.RetryAfter?.ToString());
        Assert.False(response.Headers.Contains("WWW-Authenticate"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
        Assert.Equal(2, _introspections.Count);
        Assert.Contains(api.Logs.Lines, line => line.StartsWith("Error", StringComparison.Ordinal) && line.Contains("refused the resource-server credentials of plain-account", StringComparison.Ordinal));
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains("plain account password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_that_cannot_be_reached_gives_503_and_is_asked_again_next_time()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var api = await StartApiAsync(authority: new Uri($"http://127.0.0.1:{closedPort}/"));
        using var http = api.CreateClient();
        var token = await NewTokenAsync();

        var first = await http.WhoAmIAsync(token);
        var second = await http.WhoAmIAsync(token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.Status);
        Assert.Equal(2, _introspections.Count);
    }

    [Theory]
    [InlineData(200, "{\"active\":true,\"username\":\"alice\",\"exp\":4102444800}")]
    [InlineData(200, "{\"active\":\"yes\"}")]
    [InlineData(200, "<active>true</active>")]
    [InlineData(500, "{\"active\":true}")]
    public async Task An_answer_that_is_not_tokengates_introspection_gives_503(int status, string body)
    {
        var fake = WebApplication.CreateSlimBuilder();
        fake.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = fake.Build();
        app.MapPost("/oauth2/introspect", async (HttpContext context) =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body);
        });
        await app.StartAsync();
        await using var api = await StartApiAsync(authority: new Uri(app.Urls.First()));
        using var http = api.CreateClient();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.WhoAmIAsync("0123456789abcdef0123456789abcdef01234567")).Status);
    }

    [Fact]
    public async Task The_introspection_endpoint_answers_rfc_7662_with_tokengates_addresses_member()
    {
        var token = await NewTokenAsync("127.0.0.1, 2001:db8::7");
        using var http = _server.CreateClient();

        async Task<HttpResponseMessage> IntrospectAsync(string value, string id, string secret)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "oauth2/introspect")
            {
                Content = new FormUrlEncodedContent([new("token", value), new("token_type_hint", "access_token")]),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(id)}:{Uri.EscapeDataString(secret)}")));
            return await http.SendAsync(request);
        }

        using var active = await IntrospectAsync(token, ResourceServer, ResourceServerPassword);
        using var inactive = await IntrospectAsync("0123456789abcdef0123456789abcdef01234567", ResourceServer, ResourceServerPassword);
        using var refused = await IntrospectAsync(token, "plain", "plain password");
        using var body = JsonDocument.Parse(await active.Content.ReadAsStringAsync());
        var root = body.RootElement;

        Assert.Equal(HttpStatusCode.OK, active.StatusCode);
        Assert.Equal("application/json", active.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-store", active.Headers.CacheControl?.ToString());
        Assert.Equal(["active", "username", "client_id", "token_type", "exp", "iat", "jti", "addresses"], root.EnumerateObject().Select(member => member.Name));
        Assert.Equal(JsonValueKind.True, root.GetProperty("active").ValueKind);
        Assert.Equal("Bearer", root.GetProperty("token_type").GetString());
        Assert.Equal(root.GetProperty("username").GetString(), root.GetProperty("client_id").GetString());
        Assert.Equal(43_200, root.GetProperty("exp").GetInt64() - root.GetProperty("iat").GetInt64());
        Assert.Equal(Tokens.TokenValue.IdOf(Tokens.TokenValue.ComputeDigest(token)), root.GetProperty("jti").GetString());
        Assert.Equal(["127.0.0.1", "2001:db8::7"], root.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal((HttpStatusCode.OK, "{\"active\":false}"), (inactive.StatusCode, await inactive.Content.ReadAsStringAsync()));
        Assert.Equal("no-store", inactive.Headers.CacheControl?.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.StartsWith("Basic", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Counts the requests sent on the introspection client, and can slow them down.</summary>
    private sealed class IntrospectionCounter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public TimeSpan Delay { get; set; }

        public DelegatingHandler CreateHandler() => new Counting(this);

        private sealed class Counting(IntrospectionCounter owner) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref owner._count);
                await Task.Delay(owner.Delay, cancellationToken);
                return await base.SendAsync(request, cancellationToken);
            }
        }
    }
}
