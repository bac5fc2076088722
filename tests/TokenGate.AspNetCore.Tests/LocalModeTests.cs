using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.HttpOverrides;
using IPNetwork = System.Net.IPNetwork;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TokenGate.Storage;
using TokenGate.Storage.Sqlite;
using TokenGate.Testing;

namespace TokenGate.AspNetCore.Tests;

/// <summary>
/// Local mode: the API and the server in one process on one SQLite file, as in production beside each other; the caller's
/// address by the server's trusted-proxy rule; options from configuration.
/// </summary>
public sealed class LocalModeTests(LocalModeFixture fixture) : IClassFixture<LocalModeFixture>
{
    [Fact]
    public async Task Local_mode_needs_no_key_file_and_never_writes_to_the_database()
    {
        var (account, token, _) = await fixture.NewTokenAsync();
        var keyFile = Path.Combine(fixture.Server.Directory, "tokengate.key");
        var copy = Path.Combine(fixture.Server.Directory, "moved.key");
        File.Move(keyFile, copy);
        try
        {
            await using var api = await fixture.StartApiAsync();
            using var http = api.CreateClient();

            Assert.Equal((HttpStatusCode.OK, account), ((await http.WhoAmIAsync(token)).Status, (await http.WhoAmIAsync(token)).Name));
            Assert.False(File.Exists(keyFile));
        }
        finally
        {
            File.Move(copy, keyFile);
        }
    }

    [Fact]
    public async Task A_database_that_cannot_be_opened_gives_503_not_401_with_the_contracts_body()
    {
        var (_, token, _) = await fixture.NewTokenAsync();

        // There at start (a missing file is refused then: LocalDatabaseCheckTests), gone by the first request.
        using var folder = new TempDirectory("tokengate-vanishing");
        var database = Path.Combine(folder.Path, "tokengate.db");
        File.Copy(fixture.Server.DatabasePath, database);
        await using var api = await ApiApp.StartAsync(options => options.Database = database);
        File.Delete(database);
        using var http = api.CreateClient();

        using var response = await http.GetAsync($"whoami?token={token}");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("1", response.Headers.RetryAfter?.ToString());
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("""{"success":false,"error":"Service unavailable"}""", await response.Content.ReadAsStringAsync());
        Assert.False(File.Exists(database));
    }

    [Fact]
    public async Task A_store_registered_in_di_serves_when_no_database_is_named()
    {
        var (account, token, _) = await fixture.NewTokenAsync();
        await using var api = await ApiApp.StartAsync(
            time: fixture.Time,
            services: builder => builder.Services.AddSingleton<ITokenGateStore>(new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = fixture.Server.DatabasePath })));
        using var http = api.CreateClient();

        Assert.Equal(account, (await http.WhoAmIAsync(token)).Name);
    }

    [Fact]
    public async Task Without_a_database_or_a_store_the_host_refuses_to_start_and_says_why()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => ApiApp.StartAsync());

        Assert.Contains("Local mode needs Database", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_are_bound_from_the_schemes_configuration_section()
    {
        var (account, token, _) = await fixture.NewTokenAsync();
        await using var api = await ApiApp.StartAsync(time: fixture.Time, configuration: new Dictionary<string, string?>
        {
            ["Authentication:Schemes:TokenGate:Mode"] = "local",
            ["Authentication:Schemes:TokenGate:Database"] = fixture.Server.DatabasePath,
            ["Authentication:Schemes:TokenGate:TrustedProxies"] = "10.0.0.0/8, 192.0.2.1",
            ["Authentication:Schemes:TokenGate:TrustedProxies:0"] = "fd00::/8",
            ["Authentication:Schemes:TokenGate:IntrospectionCacheDuration"] = "2.5",
            ["Authentication:Schemes:TokenGate:NegativeCacheDuration"] = "00:00:01",
            ["Authentication:Schemes:TokenGate:FailureStyle"] = "ContactNow",
            ["Authentication:Schemes:TokenGate:ReadTokenFromForm"] = "false",
        });
        using var http = api.CreateClient();
        var options = api.App.Services.GetRequiredService<IOptionsMonitor<TokenGateOptions>>().Get(TokenGateDefaults.AuthenticationScheme);

        Assert.Equal(account, (await http.WhoAmIAsync(token)).Name);
        Assert.Equal(TokenGateMode.Local, options.Mode);
        Assert.Equal(["10.0.0.0/8", "192.0.2.1/32", "fd00::/8"], options.TrustedProxies.Select(network => network.ToString()));
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.IntrospectionCacheDuration);
        Assert.Equal(TimeSpan.FromSeconds(1), options.NegativeCacheDuration);
        Assert.Equal(TokenGateFailureStyle.ContactNow, options.FailureStyle);
        Assert.False(options.ReadTokenFromForm);
    }

    [Theory]
    [InlineData("12h", 43_200)]
    [InlineData("15m", 900)]
    [InlineData("90s", 90)]
    [InlineData("250ms", 0.25)]
    [InlineData("7.00:00:00", 604_800)]
    public async Task Durations_in_configuration_are_read_with_the_servers_grammar(string text, double seconds)
    {
        await using var api = await ApiApp.StartAsync(time: fixture.Time, configuration: new Dictionary<string, string?>
        {
            ["Authentication:Schemes:TokenGate:Database"] = fixture.Server.DatabasePath,
            ["Authentication:Schemes:TokenGate:IntrospectionCacheDuration"] = text,
            ["Authentication:Schemes:TokenGate:NegativeCacheDuration"] = text,
            ["Authentication:Schemes:TokenGate:BackchannelTimeout"] = text,
        });
        var options = api.App.Services.GetRequiredService<IOptionsMonitor<TokenGateOptions>>().Get(TokenGateDefaults.AuthenticationScheme);

        Assert.Equal(
            (TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(seconds)),
            (options.IntrospectionCacheDuration, options.NegativeCacheDuration, options.BackchannelTimeout));
    }

    [Fact]
    public async Task A_named_scheme_binds_its_own_section()
    {
        var (account, token, _) = await fixture.NewTokenAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<TimeProvider>(fixture.Time);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Authentication:Schemes:Tokens:Database"] = fixture.Server.DatabasePath });
        builder.Services.AddAuthentication("Tokens").AddTokenGate("Tokens", "TokenGate tokens", _ => { }).AddTokenGateSqlite();
        await using var app = builder.Build();
        app.UseAuthentication();
        app.MapGet("/name", (HttpContext context) => context.User.Identity?.Name ?? "-");
        await app.StartAsync();
        using var http = LoopbackClient.Create(new Uri(app.Urls.First() + "/"));

        Assert.Equal(account, await http.GetStringAsync($"name?token={token}"));
        Assert.Equal("TokenGate tokens", (await app.Services.GetRequiredService<Microsoft.AspNetCore.Authentication.IAuthenticationSchemeProvider>().GetSchemeAsync("Tokens"))!.DisplayName);
    }

    [Theory]
    [InlineData("Mode", "Both", "Authentication:Schemes:TokenGate:Mode: 'Both' is not one of Local, Remote.")]
    [InlineData("IntrospectionCacheDuration", "soon", "Authentication:Schemes:TokenGate:IntrospectionCacheDuration: 'soon' is not a duration (seconds, or hh:mm:ss).")]
    [InlineData("TrustedProxies", "10.0.0.0/33", "Authentication:Schemes:TokenGate:TrustedProxies: '10.0.0.0/33' is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8, fd00::/8) with no bits set past its prefix.")]
    [InlineData("TrustedProxies", "10.0.0.1/8", "Authentication:Schemes:TokenGate:TrustedProxies: '10.0.0.1/8' is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8, fd00::/8) with no bits set past its prefix.")]
    [InlineData("MaxCachedIntrospections", "-1", "Authentication:Schemes:TokenGate:MaxCachedIntrospections: '-1' is not a whole number.")]
    public async Task A_configuration_value_that_cannot_be_read_stops_the_host_naming_its_key(string key, string value, string message)
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => ApiApp.StartAsync(configuration: new Dictionary<string, string?>
        {
            ["Authentication:Schemes:TokenGate:Database"] = fixture.Server.DatabasePath,
            ["Authentication:Schemes:TokenGate:" + key] = value,
        }));

        Assert.Equal(message, failure.Message);
    }

    [Fact]
    public async Task Remote_options_without_credentials_or_over_plain_http_to_another_host_stop_the_host()
    {
        // AuthenticationSchemeOptions.Validate throws this type (as JwtBearerOptions' does) before the DI-aware check runs.
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => ApiApp.StartAsync(options =>
        {
            options.Mode = TokenGateMode.Remote;
            options.Authority = new Uri("http://tokens.example/");
        }));

        Assert.Contains("is not HTTPS", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Remote mode needs ClientId and ClientSecret", failure.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string?, string, bool> ForwardedCases => new()
    {
        // trusted proxies, X-Forwarded-For, the token's address, accepted from 127.0.0.1
        { "127.0.0.1", "10.9.8.7", "10.9.8.7", true },
        { "127.0.0.1", null, "127.0.0.1", true },
        { "127.0.0.1", "10.9.8.7", "127.0.0.1", false },
        { "127.0.0.1, 10.0.0.0/8", "6.6.6.6, 203.0.113.5", "203.0.113.5", true },
        { "127.0.0.1, 10.0.0.0/8", "6.6.6.6, 203.0.113.5, 10.1.2.3", "203.0.113.5", true },
        { "127.0.0.1, 10.0.0.0/8", "203.0.113.5, 10.1.2.3", "6.6.6.6", false },
        { "127.0.0.1", "not-an-address, 10.9.8.7", "10.9.8.7", true },
        { "127.0.0.1", "[2001:db8::5]:4711", "2001:db8::5", true },
        { "", "10.9.8.7", "127.0.0.1", true },
        { "", "10.9.8.7", "10.9.8.7", false },
        { "127.0.0.2", "10.9.8.7", "127.0.0.1", true },
    };

    /// <summary>The handler's own resolution (<see cref="TokenGateOptions.TrustedProxies"/>) follows the server's rule.</summary>
    [Theory]
    [MemberData(nameof(ForwardedCases))]
    public async Task The_callers_address_is_taken_from_forwarded_for_only_behind_trusted_proxies(string proxies, string? forwardedFor, string boundTo, bool accepted)
    {
        var (_, token, _) = await fixture.NewTokenAsync(boundTo);
        await using var api = await fixture.StartApiAsync(options =>
        {
            foreach (var proxy in proxies.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                options.TrustedProxies.Add(IPNetwork.Parse(proxy.Contains('/', StringComparison.Ordinal) ? proxy : proxy + "/32"));
            }
        });
        using var http = api.CreateClient(LoopbackClient.First);

        var whoami = await http.WhoAmIAsync(token, customize: request =>
        {
            if (forwardedFor is not null)
            {
                request.Headers.Add("X-Forwarded-For", forwardedFor);
            }
        });

        Assert.Equal(accepted ? HttpStatusCode.OK : HttpStatusCode.Unauthorized, whoami.Status);
    }

    /// <summary>The other way: <c>UseForwardedHeaders</c> configured as the server configures it, and no proxies in the handler.</summary>
    [Theory]
    [MemberData(nameof(ForwardedCases))]
    public async Task The_forwarded_headers_middleware_configured_as_the_server_gives_the_same_answers(string proxies, string? forwardedFor, string boundTo, bool accepted)
    {
        var (_, token, _) = await fixture.NewTokenAsync(boundTo);
        var networks = proxies.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(proxy => IPNetwork.Parse(proxy.Contains('/', StringComparison.Ordinal) ? proxy : proxy + "/32")).ToList();
        await using var api = await ApiApp.StartAsync(
            options => fixture.ConfigureMode(options, fixture.Server),
            fixture.Time,
            pipeline: app =>
            {
                if (networks.Count == 0)
                {
                    return;
                }

                var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor, ForwardLimit = null, RequireHeaderSymmetry = false };
                forwarded.KnownProxies.Clear();
                forwarded.KnownIPNetworks.Clear();
                networks.ForEach(forwarded.KnownIPNetworks.Add);
                app.UseForwardedHeaders(forwarded);
            });
        using var http = api.CreateClient(LoopbackClient.First);

        var whoami = await http.WhoAmIAsync(token, customize: request =>
        {
            if (forwardedFor is not null)
            {
                request.Headers.Add("X-Forwarded-For", forwardedFor);
            }
        });

        Assert.Equal(accepted ? HttpStatusCode.OK : HttpStatusCode.Unauthorized, whoami.Status);
    }
}
