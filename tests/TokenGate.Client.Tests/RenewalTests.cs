using TokenGate.Testing;

namespace TokenGate.Client.Tests;

/// <summary>
/// When the token is renewed, driven by controllable clocks: the server's (a <see cref="ManualTimeProvider"/>, whose time the
/// server's answers carry in their Date header) and the client's, which is set far from the server's on purpose.
/// </summary>
public sealed class RenewalTests : IAsyncLifetime
{
    private const int Lifetime = 120;
    private readonly ManualTimeProvider _serverTime = new(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly ManualTimeProvider _clientTime = new(new DateTimeOffset(2031, 7, 9, 17, 33, 20, TimeSpan.Zero));
    private TokenGateTestServer _server = null!;

    public async ValueTask InitializeAsync() =>
        _server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["TokenLifetime"] = $"{Lifetime}" }, _serverTime);

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private long Gets => _server.Metrics.Requests("get");

    private void Advance(int seconds)
    {
        _serverTime.Advance(TimeSpan.FromSeconds(seconds));
        _clientTime.Advance(TimeSpan.FromSeconds(seconds));
    }

    private async Task<ITokenProvider> ProviderAsync(TimeSpan margin, TimeSpan jitter)
    {
        var account = await _server.NewAccountAsync();
        var options = _server.Options(account);
        options.RenewalMargin = margin;
        options.RenewalJitter = jitter;
        return TokenClients.CreateProvider(Clients.Http(handlers: new ServerDateHandler(_serverTime)), options, _clientTime);
    }

    [Fact]
    public async Task The_token_is_reused_until_the_margin_before_expiry_then_renewed_and_a_new_one_comes_once_it_expires()
    {
        var provider = await ProviderAsync(TimeSpan.FromSeconds(60), TimeSpan.Zero);
        var first = await provider.GetTokenAsync();
        Assert.Equal(_serverTime.UnixNow + Lifetime, first.ExpiresAt.ToUnixTimeSeconds());

        Advance(59);
        var beforeMargin = await provider.GetTokenAsync();
        var getsBeforeMargin = Gets;
        Advance(2);
        var insideMargin = await provider.GetTokenAsync();
        var getsInsideMargin = Gets;
        Advance(30);
        var stillInside = await provider.GetTokenAsync();
        var getsStillInside = Gets;
        Advance(30);
        var afterExpiry = await provider.GetTokenAsync();

        Assert.Same(first, beforeMargin);
        Assert.Equal(1, getsBeforeMargin);

        // Renewed before expiry; the server hands back its current token (as ContactNow does) until that one expires ...
        Assert.Equal(2, getsInsideMargin);
        Assert.Equal(first.Value, insideMargin.Value);
        Assert.Same(insideMargin, stillInside);
        Assert.Equal(2, getsStillInside);

        // ... so the client keeps it until then instead of asking again on every call, and gets the new one right after.
        Assert.Equal(3, Gets);
        Assert.NotEqual(first.Value, afterExpiry.Value);
        Assert.Equal(_serverTime.UnixNow + Lifetime, afterExpiry.ExpiresAt.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task Jitter_moves_the_renewal_earlier_by_at_most_its_own_length()
    {
        var provider = await ProviderAsync(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
        var first = await provider.GetTokenAsync();

        Advance(59);
        Assert.Same(first, await provider.GetTokenAsync());
        var getsBeforeJitterWindow = Gets;
        Advance(32);
        await provider.GetTokenAsync();

        Assert.Equal(1, getsBeforeJitterWindow);
        Assert.Equal(2, Gets);
    }

    [Fact]
    public async Task The_remaining_lifetime_comes_from_the_servers_date_so_the_local_clock_can_be_years_off()
    {
        // The client's clock is five years ahead of the server's: read against it, every expire is long past.
        var provider = await ProviderAsync(TimeSpan.FromSeconds(60), TimeSpan.Zero);

        var first = await provider.GetTokenAsync();
        for (var i = 0; i < 5; i++)
        {
            Advance(10);
            Assert.Same(first, await provider.GetTokenAsync());
        }

        Assert.True(first.ExpiresAt < _clientTime.GetUtcNow());
        Assert.Equal(1, Gets);
    }
}

/// <summary>
/// A server on real time with its normal 12-hour lifetime, and a client whose clock is 13 hours ahead: by the local clock every
/// token it gets has already expired. Reckoned from the server's Date header, it is good for 12 hours.
/// </summary>
public sealed class SkewedClockTests
{
    [Fact]
    public async Task A_client_clock_13_hours_ahead_still_reuses_the_token_and_renews_it_a_margin_before_its_real_expiry()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        var account = await server.NewAccountAsync();
        var clientTime = new ManualTimeProvider(DateTimeOffset.UtcNow.AddHours(13));
        var options = server.Options(account);
        var provider = TokenClients.CreateProvider(Clients.Http(), options, clientTime);

        var first = await provider.GetTokenAsync();
        for (var i = 0; i < 20; i++)
        {
            Assert.Same(first, await provider.GetTokenAsync());
        }

        var getsAfterReuse = server.Metrics.Requests("get");
        clientTime.Advance(TimeSpan.FromSeconds(43_200 - 60 - 5));
        Assert.Same(first, await provider.GetTokenAsync());
        var getsJustBeforeMargin = server.Metrics.Requests("get");
        clientTime.Advance(TimeSpan.FromSeconds(10));
        await provider.GetTokenAsync();

        Assert.True(first.ExpiresAt < clientTime.GetUtcNow());
        Assert.Equal(1, getsAfterReuse);
        Assert.Equal(1, getsJustBeforeMargin);
        Assert.Equal(2, server.Metrics.Requests("get"));
    }
}
