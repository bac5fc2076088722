using Microsoft.Extensions.DependencyInjection;
using TokenGate.Storage;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>Every issue, delete, password change, failed login and rate-limit event is recorded, without a secret in it.</summary>
public sealed class AuditTests
{
    private static async Task<IReadOnlyList<AuditEntry>> WaitForAuditAsync(TokenGateTestServer server, int count, string? account = null)
    {
        var store = server.App.Services.GetRequiredService<ITokenGateStore>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        IReadOnlyList<AuditEntry> entries;
        do
        {
            entries = await store.ListAuditAsync(account, null, 1000, CancellationToken.None);
            if (entries.Count >= count)
            {
                break;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        return entries;
    }

    [Fact]
    public async Task The_trail_records_who_did_what_from_where_with_the_token_id_and_never_a_secret()
    {
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["LoginThrottle"] = "true",
            ["LoginDelayAfter"] = "50",
            ["LoginBlockAfter"] = "2",
        });
        await server.CreateAccountAsync("audited", "audited password");
        var client = new TokenApiClient(server.CreateClient());
        var attacker = new TokenApiClient(server.CreateClient(LoopbackClient.Second));

        var issued = await client.GetTokenAsync("audited", "audited password");
        await client.GetTokenAsync("audited", "audited password");
        var other = await client.GetTokenAsync("audited", "audited password", "10.0.0.7");
        await client.GetTokenAsync("nobody-here", "whatever password");
        await attacker.GetTokenAsync("audited", "guess one");
        await attacker.GetTokenAsync("audited", "guess two");
        await attacker.GetTokenAsync("audited", "guess three");
        await client.NewPasswordAsync(issued.Token!, "the next password");
        await new TokenApiClient(server.CreateClient(LoopbackClient.Second)).DeleteAsync(other.Token!);
        Assert.True((await client.DeleteAsync(issued.Token!)).Success);

        // A get that hands back the token and a refusal are counted per minute (RepeatedAuditEventsTests): written when the minute
        // turns (which it may do during the test, splitting a count in two) and at the latest when the server stops.
        await server.App.StopAsync(TestContext.Current.CancellationToken);
        var all = (await WaitForAuditAsync(server, 10)).Reverse().ToList();
        var counted = all.Where(e => e.Outcome is AuditActions.Returned or AuditActions.RateLimited).DistinctBy(e => e.Outcome).OrderBy(e => e.Outcome, StringComparer.Ordinal).ToList();
        var entries = all.Where(e => e.Outcome is not (AuditActions.Returned or AuditActions.RateLimited)).ToList();
        var id = Tokens.TokenValue.IdOf(Tokens.TokenValue.ComputeDigest(issued.Token!));
        var otherId = Tokens.TokenValue.IdOf(Tokens.TokenValue.ComputeDigest(other.Token!));

        Assert.Equal(
            [
                ("audited", "127.0.0.1", "get", "issued", id),
                ("audited", "127.0.0.1", "get", "issued", otherId),
                (null, "127.0.0.1", "get", "authentication failure", null),
                ("audited", "127.0.0.2", "get", "authentication failure", null),

                // The second guess reaches the limit (2): the start of the refusal is recorded once, before that guess's outcome.
                (null, "127.0.0.2", "get", "blocked (username+address)", null),
                ("audited", "127.0.0.2", "get", "authentication failure", null),
                ("audited", "127.0.0.1", "newpass", "password changed", id),
                ("audited", "127.0.0.1", "delete", "deleted", id),
            ],
            entries.Select(e => (e.Account, e.Client, e.Action, e.Outcome, e.TokenId)));
        Assert.Equal(
            [
                (null, "127.0.0.2", "get", "rate limited", null),
                ("audited", "127.0.0.1", "get", "returned", id),
            ],
            counted.Select(e => (e.Account, e.Client, e.Action, e.Outcome, e.TokenId)));
        Assert.All(all, e => Assert.InRange(e.At, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        var text = string.Join("\n", all);
        foreach (var secret in new[] { "audited password", "guess one", "the next password", "whatever password", "nobody-here", issued.Token!, other.Token! })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_introspection_by_an_account_that_is_not_a_resource_server_is_recorded_as_refused_with_the_account()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TokenGateTestServer.StartAsync(time: time);
        await server.CreateAccountAsync("plain-client", "plain password");
        using var http = server.CreateClient(LoopbackClient.Second);
        using var request = new HttpRequestMessage(HttpMethod.Post, "oauth2/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["client_id"] = "plain-client",
                ["client_secret"] = "plain password",
                ["token"] = new string('a', 40),
            }),
        };

        var response = await http.SendAsync(request);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
        time.Advance(TimeSpan.FromMinutes(1));
        var entry = Assert.Single(await WaitForAuditAsync(server, 1));
        Assert.Equal(
            ("plain-client", "127.0.0.2", AuditActions.Introspect, AuditActions.NotResourceServer, (string?)null),
            (entry.Account, entry.Client, entry.Action, entry.Outcome, entry.TokenId));
        Assert.Equal("refused (not a resource server)", entry.Outcome);
    }

    [Fact]
    public async Task Audit_entries_older_than_the_retention_are_purged_by_the_sweeper()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["AuditRetention"] = "100s", ["SweepInterval"] = "1s" }, time);
        await server.CreateAccountAsync("aging", "aging password");
        var client = new TokenApiClient(server.CreateClient());
        await client.GetTokenAsync("aging", "wrong password");
        Assert.Single(await WaitForAuditAsync(server, 1));

        time.Advance(TimeSpan.FromSeconds(50));
        await client.GetTokenAsync("aging", "wrong again");
        Assert.Equal(2, (await WaitForAuditAsync(server, 2)).Count);

        time.Advance(TimeSpan.FromSeconds(60));
        var store = server.App.Services.GetRequiredService<ITokenGateStore>();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        IReadOnlyList<AuditEntry> remaining;
        do
        {
            await Task.Delay(200);
            remaining = await store.ListAuditAsync(null, null, 10, CancellationToken.None);
        }
        while (remaining.Count > 1 && DateTime.UtcNow < deadline);

        Assert.Equal(time.UnixNow - 60, Assert.Single(remaining).At);
    }
}
