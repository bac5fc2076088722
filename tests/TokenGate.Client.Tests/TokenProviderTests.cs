using TokenGate.Testing;

namespace TokenGate.Client.Tests;

/// <summary>The token cache against a real server: single flight, cancellation, failures, the cache key, and secrets.</summary>
public sealed class TokenProviderTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TokenGateTestServer Server => fixture.Server;

    [Fact]
    public async Task A_thousand_concurrent_callers_with_a_cold_cache_cause_exactly_one_get()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        var account = await server.NewAccountAsync();
        var provider = TokenClients.CreateProvider(Clients.Http(), server.Options(account));
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var callers = Enumerable.Range(0, 1000).Select(_ => Task.Run(async () =>
        {
            await start.Task;
            return await provider.GetTokenAsync();
        })).ToList();
        start.SetResult();
        var tokens = await Task.WhenAll(callers);

        Assert.Equal(1, server.Metrics.Requests("get"));
        Assert.Single(tokens.Select(t => t.Value).Distinct());
        Assert.Same(tokens[0], await provider.GetTokenAsync());
        Assert.Equal(1, server.Metrics.Requests("get"));
    }

    [Fact]
    public async Task One_callers_cancellation_does_not_cancel_the_fetch_the_others_wait_on()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        var account = await server.NewAccountAsync();
        var gate = new GateHandler(closed: true);
        var provider = TokenClients.CreateProvider(Clients.Http(handlers: gate), server.Options(account));
        using var impatient = new CancellationTokenSource();

        var first = provider.GetTokenAsync(impatient.Token).AsTask();
        await gate.Entered;
        var second = provider.GetTokenAsync().AsTask();
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        gate.Release();
        var token = await second;

        Assert.Equal(1, gate.Requests);
        Assert.Equal(1, server.Metrics.Requests("get"));
        Assert.Same(token, await provider.GetTokenAsync());
    }

    [Fact]
    public async Task A_failure_is_shared_by_the_callers_waiting_on_it_and_never_cached()
    {
        var account = await fixture.NewAccountAsync();
        var gate = new GateHandler(closed: true, failFirst: 1);
        var provider = TokenClients.CreateProvider(Clients.Http(handlers: gate), Server.Options(account));

        var waiting = Enumerable.Range(0, 20).Select(_ => provider.GetTokenAsync().AsTask()).ToList();
        await gate.Entered;
        gate.Release();
        foreach (var caller in waiting)
        {
            var failure = await Assert.ThrowsAsync<TokenTransportException>(() => caller);
            Assert.IsType<HttpRequestException>(failure.InnerException);
        }

        var token = await provider.GetTokenAsync();

        Assert.Equal(2, gate.Requests);
        Assert.Matches("^[0-9a-f]{40}$", token.Value);
    }

    [Fact]
    public async Task An_authentication_failure_is_asked_again_each_time_not_cached()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        var account = await server.NewAccountAsync();
        var options = server.Options(account);
        options.Password = "Wr0ng-" + account.Password;
        var provider = TokenClients.CreateProvider(Clients.Http(), options);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("Authentication failure", (await Assert.ThrowsAsync<TokenAuthenticationException>(() => provider.GetTokenAsync().AsTask())).Error);
        }

        Assert.Equal(3, server.Metrics.Requests("get"));
    }

    [Fact]
    public async Task The_address_set_is_part_of_the_cache_key_and_is_sent_to_the_server()
    {
        var account = await fixture.NewAccountAsync();
        var callers = TokenClients.CreateProvider(Clients.Http(), Server.Options(account));
        var listedOptions = Server.Options(account);
        listedOptions.Addresses.Add("127.0.0.2");
        listedOptions.Addresses.Add("10.0.0.1");
        var listed = TokenClients.CreateProvider(Clients.Http(), listedOptions);

        var forCaller = await callers.GetTokenAsync();
        var forList = await listed.GetTokenAsync();

        Assert.NotEqual(forCaller.Value, forList.Value);
        Assert.Equal(forList.ExpiresAt, await Server.Api(source: LoopbackClient.Second).ValidateTokenAsync(forList.Value));
    }

    [Fact]
    public void The_cache_key_holds_endpoint_username_and_address_set_but_not_order_duplicates_or_the_password()
    {
        var endpoint = new Uri("https://api-106.dxi.eu/token.php");
        var key = Caching.TokenCacheKey.Create(endpoint, "alice", ["10.0.0.1", "::ffff:127.0.0.1"]);

        Assert.Equal(key, Caching.TokenCacheKey.Create(new Uri("HTTPS://API-106.dxi.eu:443/token.php"), "alice", ["127.0.0.1", " 10.0.0.1", "10.0.0.1"]));
        Assert.NotEqual(key, Caching.TokenCacheKey.Create(TokenEndpoints.ContactNowUs, "alice", ["10.0.0.1", "127.0.0.1"]));
        Assert.NotEqual(key, Caching.TokenCacheKey.Create(endpoint, "Alice", ["10.0.0.1", "127.0.0.1"]));
        Assert.NotEqual(key, Caching.TokenCacheKey.Create(endpoint, "alice", ["10.0.0.1"]));
        Assert.NotEqual(key, Caching.TokenCacheKey.Create(endpoint, "alice", []));
    }

    [Fact]
    public async Task Renewal_on_demand_is_shared_and_skipped_when_someone_already_replaced_the_rejected_token()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        var account = await server.NewAccountAsync();
        var provider = TokenClients.CreateProvider(Clients.Http(), server.Options(account));
        var first = await provider.GetTokenAsync();
        await server.Api().DeleteTokenAsync(first.Value);

        var renewals = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => provider.RenewTokenAsync(first).AsTask())));
        var later = await provider.RenewTokenAsync(first);

        Assert.Single(renewals.Select(t => t.Value).Distinct());
        Assert.NotEqual(first.Value, renewals[0].Value);
        Assert.Same(renewals[0], later);
        Assert.Equal(2, server.Metrics.Requests("get"));
    }

    [Fact]
    public async Task Options_that_cannot_work_are_refused_with_the_setting_named()
    {
        var missing = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => TokenClients.CreateProvider(Clients.Http(), new TokenClientOptions()));
        var tooMany = new TokenClientOptions { Endpoint = TokenEndpoints.ContactNowEu, Username = "u", Password = "p" };
        for (var i = 0; i < 11; i++)
        {
            tooMany.Addresses.Add($"10.0.0.{i}");
        }

        Assert.Contains(missing.Failures, f => f.Contains("Endpoint", StringComparison.Ordinal));
        Assert.Contains(missing.Failures, f => f.Contains("Username", StringComparison.Ordinal));
        Assert.Contains(missing.Failures, f => f.Contains("Password", StringComparison.Ordinal));
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => TokenClients.CreateProvider(Clients.Http(), tooMany));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task No_password_or_token_appears_in_any_log_line()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        var account = await server.NewAccountAsync();
        var logs = new CapturedLogs();
        using var loggers = Clients.Loggers(logs);
        using var directory = new TempDirectory();
        var options = server.Options(account, method: TokenRequestMethod.Get);
        options.CacheDirectory = directory.Path;
        var provider = TokenClients.CreateProvider(Clients.Http(), options, loggerFactory: loggers);
        var token = await provider.GetTokenAsync();
        var renewed = await provider.RenewTokenAsync(token);
        var wrong = server.Options(account);
        wrong.Password = "Wr0ng-" + account.Password;
        await Assert.ThrowsAsync<TokenAuthenticationException>(() => TokenClients.CreateProvider(Clients.Http(), wrong, loggerFactory: loggers).GetTokenAsync().AsTask());

        Assert.NotEmpty(logs.Lines);
        Assert.All(logs.Lines, line =>
        {
            Assert.DoesNotContain(account.Password, line, StringComparison.Ordinal);
            Assert.DoesNotContain(token.Value, line, StringComparison.Ordinal);
            Assert.DoesNotContain(renewed.Value, line, StringComparison.Ordinal);
        });
    }
}
