using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGate.Testing;

namespace TokenGate.Client.Tests;

/// <summary><c>AddTokenGateClient</c> bound from configuration, <c>AddHttpClient(...).AddTokenGateToken(...)</c>, and what reaches the logs.</summary>
public sealed class DependencyInjectionTests : IAsyncLifetime
{
    private TokenGateTestServer _server = null!;
    private ProtectedApi _api = null!;
    private Account _account = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await TokenGateTestServer.StartAsync();
        _api = await ProtectedApi.StartAsync(_server);
        _account = await _server.NewAccountAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        await _server.DisposeAsync();
    }

    private Dictionary<string, string?> Settings(Account account, string prefix = "TokenGate") => new()
    {
        [$"{prefix}:Endpoint"] = new Uri(_server.BaseAddress, "api/token.php").AbsoluteUri,
        [$"{prefix}:Username"] = account.Name,
        [$"{prefix}:Password"] = account.Password,
    };

    private static ServiceProvider Build(Dictionary<string, string?> settings, Action<IServiceCollection, IConfiguration> register, CapturedLogs? logs = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        register(services, configuration);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public async Task Every_option_binds_from_configuration()
    {
        using var directory = new TempDirectory();
        var settings = Settings(_account);
        settings["TokenGate:Format"] = "Xml";
        settings["TokenGate:RequestMethod"] = "Get";
        settings["TokenGate:Addresses:0"] = "127.0.0.1";
        settings["TokenGate:Addresses:1"] = "::1";
        settings["TokenGate:RenewalMargin"] = "00:02:00";
        settings["TokenGate:RenewalJitter"] = "00:00:00";
        settings["TokenGate:CacheDirectory"] = directory.Path;
        await using var services = Build(settings, (s, c) => s.AddTokenGateClient(c.GetSection("TokenGate")));

        var options = services.GetRequiredService<IOptions<TokenClientOptions>>().Value;
        var token = await services.GetRequiredService<ITokenProvider>().GetTokenAsync();

        Assert.Equal(new Uri(_server.BaseAddress, "api/token.php"), options.Endpoint);
        Assert.Equal((TokenFormat.Xml, TokenRequestMethod.Get), (options.Format, options.RequestMethod));
        Assert.Equal(["127.0.0.1", "::1"], options.Addresses);
        Assert.Equal((TimeSpan.FromMinutes(2), TimeSpan.Zero), (options.RenewalMargin, options.RenewalJitter));
        Assert.Equal(token.ExpiresAt, await services.GetRequiredService<ITokenApiClient>().ValidateTokenAsync(token.Value));
        Assert.Single(Directory.GetFiles(directory.Path));
    }

    [Theory]
    [InlineData(TokenPlacement.QueryParameter)]
    [InlineData(TokenPlacement.BearerHeader)]
    public async Task An_http_client_with_AddTokenGateToken_calls_the_protected_api_with_the_token(TokenPlacement placement)
    {
        await using var services = Build(Settings(_account), (s, c) =>
        {
            s.AddTokenGateClient(c.GetSection("TokenGate"));
            s.AddHttpClient("api", h => h.BaseAddress = _api.BaseAddress).AddTokenGateToken(o => o.Placement = placement);
        });
        var http = services.GetRequiredService<IHttpClientFactory>().CreateClient("api");

        var first = await http.GetStringAsync("data");
        var second = await http.GetStringAsync("data?style=xml");

        Assert.Contains("hello", first, StringComparison.Ordinal);
        Assert.Contains("hello", second, StringComparison.Ordinal);
        Assert.Equal((await services.GetRequiredService<ITokenProvider>().GetTokenAsync()).Value, _api.TokensSeen.Distinct().Single());
        Assert.Equal(1, _server.Metrics.Requests("get"));
    }

    [Fact]
    public async Task Named_clients_keep_separate_tokens_and_a_handler_picks_one_by_name()
    {
        var other = await _server.NewAccountAsync();
        var settings = Settings(_account, "Accounts:Main");
        foreach (var (key, value) in Settings(other, "Accounts:Reports"))
        {
            settings[key] = value;
        }

        await using var services = Build(settings, (s, c) =>
        {
            s.AddTokenGateClient("main", c.GetSection("Accounts:Main"));
            s.AddTokenGateClient("reports", o =>
            {
                c.GetSection("Accounts:Reports").Bind(o);
                o.RenewalMargin = TimeSpan.FromMinutes(5);
            });
            s.AddHttpClient("reports-api", h => h.BaseAddress = _api.BaseAddress).AddTokenGateToken("reports");
        });
        var main = services.GetRequiredKeyedService<ITokenProvider>("main");
        var reports = services.GetRequiredKeyedService<ITokenProvider>("reports");

        var mainToken = await main.GetTokenAsync();
        var reportsToken = await reports.GetTokenAsync();
        await services.GetRequiredService<IHttpClientFactory>().CreateClient("reports-api").GetStringAsync("data");

        Assert.NotEqual(mainToken.Value, reportsToken.Value);
        Assert.Equal(reportsToken.Value, _api.TokensSeen.Single());
        Assert.Null(services.GetService<ITokenProvider>());
    }

    [Fact]
    public async Task The_token_api_http_client_and_the_store_can_be_replaced()
    {
        var store = new MemoryStore();
        var gate = new GateHandler();
        await using var services = Build(Settings(_account), (s, c) =>
            s.AddTokenGateClient(c.GetSection("TokenGate"))
                .UseTokenStore(_ => store)
                .TokenApiHttpClient.AddHttpMessageHandler(() => gate));

        await services.GetRequiredService<ITokenProvider>().GetTokenAsync();

        Assert.Equal(1, gate.Requests);
        Assert.Single(store.Entries);
    }

    [Fact]
    public async Task Missing_settings_are_reported_by_name_when_the_client_is_first_used()
    {
        await using var services = Build(new Dictionary<string, string?> { ["TokenGate:Username"] = "someone" }, (s, c) => s.AddTokenGateClient(c.GetSection("TokenGate")));

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<ITokenProvider>());

        Assert.Contains(failure.Failures, f => f.Contains("Endpoint", StringComparison.Ordinal));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Logs_at_every_level_hold_no_password_and_no_token_even_with_everything_in_query_strings()
    {
        var logs = new CapturedLogs();
        var settings = Settings(_account);
        settings["TokenGate:RequestMethod"] = "Get";
        await using var services = Build(settings, (s, c) =>
        {
            s.AddTokenGateClient(c.GetSection("TokenGate"));
            s.AddHttpClient("api", h => h.BaseAddress = _api.BaseAddress).AddTokenGateToken();
        }, logs);
        var http = services.GetRequiredService<IHttpClientFactory>().CreateClient("api");
        var tokens = services.GetRequiredService<ITokenProvider>();

        await http.GetStringAsync("data");
        var first = await tokens.GetTokenAsync();
        await services.GetRequiredService<ITokenApiClient>().DeleteTokenAsync(first.Value);
        await http.GetStringAsync("data");
        var second = await tokens.GetTokenAsync();
        await http.GetAsync("data?reject=always");

        Assert.Contains(logs.Lines, l => l.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("TokenGate.Client.TokenHandler", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("TokenGate.Client.TokenProvider", StringComparison.Ordinal));
        Assert.All(logs.Lines, line =>
        {
            Assert.DoesNotContain(_account.Password, line, StringComparison.Ordinal);
            Assert.DoesNotContain(first.Value, line, StringComparison.Ordinal);
            Assert.DoesNotContain(second.Value, line, StringComparison.Ordinal);
        });
    }

    private sealed class MemoryStore : ITokenStore
    {
        public Dictionary<string, StoredToken> Entries { get; } = [];

        public ValueTask<StoredToken?> GetAsync(string cacheKey, CancellationToken cancellationToken) => new(Entries.GetValueOrDefault(cacheKey));

        public ValueTask SetAsync(string cacheKey, StoredToken token, CancellationToken cancellationToken)
        {
            Entries[cacheKey] = token;
            return ValueTask.CompletedTask;
        }
    }
}
