using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Storage;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// Issue 25, item 6: a newpass with a guessed token, a refused introspection and a get that hands back an existing token are
/// recorded, each aggregated per (account, address, action, outcome, token id) and clock minute into one entry with a count, so
/// a flood of them adds one row per address a minute. Real HTTP; a manual clock turns the minute.
/// </summary>
public sealed class RepeatedAuditEventsTests
{
    private static async Task<List<(string? Account, string? Client, string Action, string Outcome, string? TokenId)>> AuditAsync(TokenGateTestServer server, int atLeast)
    {
        var store = server.App.Services.GetRequiredService<ITokenGateStore>();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        IReadOnlyList<AuditEntry> entries;
        do
        {
            entries = await store.ListAuditAsync(null, null, 1000, CancellationToken.None);
            if (entries.Count >= atLeast)
            {
                break;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        return [.. entries.Select(e => (e.Account, e.Client, e.Action, e.Outcome, e.TokenId)).OrderBy(e => e.Client, StringComparer.Ordinal).ThenBy(e => e.Outcome, StringComparer.Ordinal)];
    }

    private static string GuessedToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));

    [Fact]
    public async Task Newpass_with_guessed_tokens_is_recorded_once_a_minute_per_address_with_the_count()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TokenGateTestServer.StartAsync(time: time);
        var first = new TokenApiClient(server.CreateClient(LoopbackClient.First));
        var second = new TokenApiClient(server.CreateClient(LoopbackClient.Second));

        for (var i = 0; i < 30; i++)
        {
            Assert.Equal("Invalid token", (await second.NewPasswordAsync(GuessedToken(), "a new password of mine")).Error);
        }

        for (var i = 0; i < 3; i++)
        {
            await first.NewPasswordAsync(GuessedToken(), "a new password of mine");
        }

        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        Assert.Empty(await AuditAsync(server, 0));

        time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(
            [
                (null, "127.0.0.1", "newpass", "invalid token (x3)", null),
                (null, "127.0.0.2", "newpass", "invalid token (x30)", null),
            ],
            await AuditAsync(server, 2));

        await second.NewPasswordAsync(GuessedToken(), "a new password of mine");
        time.Advance(TimeSpan.FromMinutes(1));

        Assert.Contains((null, "127.0.0.2", "newpass", "invalid token", null), await AuditAsync(server, 3));
    }

    [Fact]
    public async Task A_get_that_hands_back_the_existing_token_is_recorded_with_its_id_and_count()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TokenGateTestServer.StartAsync(time: time);
        await server.CreateAccountAsync("returning", "returning password");
        var client = new TokenApiClient(server.CreateClient());

        var issued = await client.GetTokenAsync("returning", "returning password");
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(issued.Token, (await client.GetTokenAsync("returning", "returning password")).Token);
        }

        time.Advance(TimeSpan.FromMinutes(1));

        var id = Tokens.TokenValue.IdOf(Tokens.TokenValue.ComputeDigest(issued.Token!));
        Assert.Equal(
            [
                ("returning", "127.0.0.1", "get", "issued", id),
                ("returning", "127.0.0.1", "get", "returned (x4)", id),
            ],
            await AuditAsync(server, 2));
    }

    [Fact]
    public async Task Refused_introspections_are_counted_per_account_and_address_and_the_server_writes_the_count_when_it_stops()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var server = await TokenGateTestServer.StartAsync(time: time);
        await server.CreateAccountAsync("plain-client", "plain password");
        using var http = server.CreateClient(LoopbackClient.Second);

        for (var i = 0; i < 5; i++)
        {
            using var response = await http.PostAsync("oauth2/introspect", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["client_id"] = "plain-client",
                ["client_secret"] = "plain password",
                ["token"] = GuessedToken(),
            }));
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // No minute has turned: stopping writes what was counted.
        var store = server.App.Services.GetRequiredService<ITokenGateStore>();
        await server.App.StopAsync(TestContext.Current.CancellationToken);

        var entry = Assert.Single(await store.ListAuditAsync(null, null, 10, CancellationToken.None));
        Assert.Equal(("plain-client", "127.0.0.2", "introspect", "refused (not a resource server) (x5)"), (entry.Account, entry.Client, entry.Action, entry.Outcome));
        await server.DisposeAsync();
    }
}
