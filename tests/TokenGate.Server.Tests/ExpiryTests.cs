using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>Lifetime, expiry and the retention window, on a server whose clock the test moves.</summary>
public sealed class ExpiryTests : IAsyncLifetime
{
    private const long Lifetime = 100;
    private const long Retention = 1000;
    private readonly ManualTimeProvider _time = new();
    private TokenGateTestServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await TokenGateTestServer.StartAsync(
        new Dictionary<string, string?> { ["TokenLifetime"] = $"{Lifetime}", ["ExpiredRetention"] = $"{Retention}s", ["SweepInterval"] = "1s", ["SweepBatchSize"] = "2" },
        _time);

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("json")]
    [InlineData("xml")]
    public async Task A_token_is_valid_until_the_second_before_expire_and_expired_from_expire_until_retention_ends(string format)
    {
        await _server.CreateAccountAsync("ann-" + format, "ann's password");
        var client = new TokenApiClient(_server.CreateClient(), format: format);
        var issued = await client.GetTokenAsync("ann-" + format, "ann's password");
        Assert.Equal(_time.UnixNow + Lifetime, issued.Expire);

        _time.SetUnixNow(issued.Expire!.Value - 1);
        var lastSecond = await client.ValidateAsync(issued.Token!);

        _time.SetUnixNow(issued.Expire.Value);
        var atExpire = await client.ValidateAsync(issued.Token!);
        var fromElsewhere = await new TokenApiClient(_server.CreateClient(LoopbackClient.Second), format: format).ValidateAsync(issued.Token!);

        _time.SetUnixNow(issued.Expire.Value + Retention - 1);
        var endOfRetention = await client.ValidateAsync(issued.Token!);

        _time.SetUnixNow(issued.Expire.Value + Retention);
        var afterRetention = await client.ValidateAsync(issued.Token!);

        Assert.True(lastSecond.Success);
        Assert.Equal(issued.Expire, lastSecond.Expire);
        Assert.False(atExpire.Success);
        Assert.Equal("Expired token", atExpire.Error);
        Assert.Equal(-1, atExpire.Expire);
        Assert.Equal(["success", "error", "expire"], atExpire.Fields);
        Assert.Equal("Invalid token", fromElsewhere.Error);
        Assert.Equal("Expired token", endOfRetention.Error);
        Assert.Equal("Invalid token", afterRetention.Error);
    }

    [Fact]
    public async Task Validate_never_moves_the_expiry()
    {
        await _server.CreateAccountAsync("bob", "bob's password");
        var client = new TokenApiClient(_server.CreateClient());
        var issued = await client.GetTokenAsync("bob", "bob's password");

        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(issued.Expire, (await client.ValidateAsync(issued.Token!)).Expire);
        }

        Assert.Equal(issued.Expire, (await client.GetTokenAsync("bob", "bob's password")).Expire);
    }

    [Fact]
    public async Task Delete_and_newpass_of_an_expired_token_answer_expired_token()
    {
        await _server.CreateAccountAsync("cat", "cat's password");
        var client = new TokenApiClient(_server.CreateClient());
        var issued = await client.GetTokenAsync("cat", "cat's password");
        _time.Advance(TimeSpan.FromSeconds(Lifetime));

        var deleted = await client.DeleteAsync(issued.Token!);
        var changed = await client.NewPasswordAsync(issued.Token!, "a brand new password");

        Assert.Equal(("Expired token", -1L), (deleted.Error, deleted.Expire!.Value));
        Assert.Equal(("Expired token", -1L), (changed.Error, changed.Expire!.Value));
        Assert.Equal(Lifetime, (await client.GetTokenAsync("cat", "cat's password")).Expire - _time.UnixNow);
    }

    [Fact]
    public async Task Get_after_expiry_issues_a_new_token()
    {
        await _server.CreateAccountAsync("dan", "dan's password");
        var client = new TokenApiClient(_server.CreateClient());
        var first = await client.GetTokenAsync("dan", "dan's password");
        _time.Advance(TimeSpan.FromSeconds(Lifetime));

        var second = await client.GetTokenAsync("dan", "dan's password");

        Assert.NotEqual(first.Token, second.Token);
        Assert.Equal(_time.UnixNow + Lifetime, second.Expire);
        Assert.Equal("Expired token", (await client.ValidateAsync(first.Token!)).Error);
        Assert.True((await client.ValidateAsync(second.Token!)).Success);
    }

    [Fact]
    public async Task The_sweeper_purges_tokens_past_retention_in_batches_and_keeps_the_rest()
    {
        await _server.CreateAccountAsync("eve", "eve's password");
        var client = new TokenApiClient(_server.CreateClient());
        for (var i = 1; i <= 5; i++)
        {
            Assert.True((await client.GetTokenAsync("eve", "eve's password", $"10.0.0.{i}")).Success);
        }

        _time.Advance(TimeSpan.FromSeconds(Lifetime + Retention - 10));
        var live = await client.GetTokenAsync("eve", "eve's password", "10.0.1.1");
        Assert.Equal(6, (await _server.Accounts.ListTokensAsync("eve", 100, CancellationToken.None)).Count);

        _time.Advance(TimeSpan.FromSeconds(10));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        IReadOnlyList<Storage.TokenSummary> remaining;
        do
        {
            await Task.Delay(200);
            remaining = await _server.Accounts.ListTokensAsync("eve", 100, CancellationToken.None);
        }
        while ((remaining.Count > 1 || !_server.Logs.Lines.Any(line => line.Contains("Purged", StringComparison.Ordinal))) && DateTime.UtcNow < deadline);

        var token = Assert.Single(remaining);
        Assert.Equal(Tokens.TokenValue.IdOf(Tokens.TokenValue.ComputeDigest(live.Token!)), token.Id);
        Assert.Contains(_server.Logs.Lines, line => line.Contains("Purged", StringComparison.Ordinal));
    }
}
