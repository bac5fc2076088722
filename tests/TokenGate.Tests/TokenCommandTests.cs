using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TokenGate.Cli;
using TokenGate.Storage;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary><c>tokengate token ...</c> against the database of a real server that issued the tokens, as an operator uses it.</summary>
public sealed class TokenCommandTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task Token_list_shows_id_account_addresses_and_times_but_never_the_token()
    {
        await _workspace.AddAccountAsync("alice", "alice-password");
        await _workspace.AddAccountAsync("bob", "bob-password");
        await using var server = await _workspace.StartServerAsync();
        var api = server.Api();
        var local = await api.IssueAsync("alice", "alice-password");
        var listed = await api.IssueAsync("alice", "alice-password", "127.0.0.2, 10.1.2.3");
        var bobs = await api.IssueAsync("bob", "bob-password");

        var result = await _workspace.RunAsync("token", "list");

        Assert.Equal((ExitCodes.Ok, string.Empty), (result.ExitCode, result.Error));
        Assert.Matches(@"^ID\s+ACCOUNT\s+ADDRESSES\s+ISSUED \(UTC\)\s+EXPIRES \(UTC\)\s+STATE\n", result.Output);
        foreach (var token in new[] { local, listed, bobs })
        {
            Assert.DoesNotContain(token.Token!, result.Output, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(token.Token![..16], result.Output, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Equal(3, result.Rows().Count);
        AssertRow(result, local, "alice", "127.0.0.1");
        AssertRow(result, listed, "alice", "10.1.2.3,127.0.0.2");
        AssertRow(result, bobs, "bob", "127.0.0.1");
        Assert.Equal("2", Assert.Single((await _workspace.RunAsync("account", "list")).RowsStartingWith("alice"))[2]);
    }

    [Fact]
    public async Task Token_list_with_an_account_shows_only_that_accounts_tokens_and_limit_caps_the_rows()
    {
        await _workspace.AddAccountAsync("alice", "alice-password");
        await _workspace.AddAccountAsync("bob", "bob-password");
        await using var server = await _workspace.StartServerAsync();
        var api = server.Api();
        var first = await api.IssueAsync("alice", "alice-password");
        var second = await api.IssueAsync("alice", "alice-password", "10.1.2.3");
        var bobs = await api.IssueAsync("bob", "bob-password");

        var alices = await _workspace.RunAsync("token", "list", "--account", "alice");
        var limited = await _workspace.RunAsync("token", "list", "--limit", "1");

        Assert.Equal((ExitCodes.Ok, string.Empty), (alices.ExitCode, alices.Error));
        Assert.Equal(
            new[] { IdOf(first.Token!), IdOf(second.Token!) }.Order(StringComparer.Ordinal),
            alices.Rows().Select(row => row[0]).Order(StringComparer.Ordinal));
        Assert.All(alices.Rows(), row => Assert.Equal("alice", row[1]));
        Assert.DoesNotContain(IdOf(bobs.Token!), alices.Output, StringComparison.Ordinal);
        Assert.Equal((ExitCodes.Ok, 1), (limited.ExitCode, limited.Rows().Count(row => row.Length > 1)));
        Assert.Contains("(only the newest 1 are shown; use --limit to see more)", limited.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ghost")]
    [InlineData("bad name!")]
    public async Task Token_list_for_an_unknown_account_fails_with_a_message_naming_it(string name)
    {
        var result = await _workspace.RunAsync("token", "list", "--account", name);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal($"error: there is no account named '{name}'.", result.Error.Trim());
        Assert.Equal(string.Empty, result.Output);
    }

    [Fact]
    public async Task Token_revoke_for_an_account_deletes_its_tokens_only_and_reports_the_count()
    {
        await _workspace.AddAccountAsync("alice", "alice-password");
        await _workspace.AddAccountAsync("bob", "bob-password");
        await using var server = await _workspace.StartServerAsync();
        var api = server.Api();
        var alices = new[] { await api.IssueAsync("alice", "alice-password"), await api.IssueAsync("alice", "alice-password", "10.1.2.3,127.0.0.1") };
        var bobs = await api.IssueAsync("bob", "bob-password");

        var revoked = await _workspace.RunAsync("token", "revoke", "--account", "alice");

        Assert.Equal((ExitCodes.Ok, string.Empty), (revoked.ExitCode, revoked.Error));
        Assert.Equal("Revoked 2 token(s) of alice.", revoked.Output.Trim());
        foreach (var token in alices)
        {
            Assert.Equal("Invalid token", (await api.ValidateAsync(token.Token!)).Error);
        }

        Assert.True((await api.ValidateAsync(bobs.Token!)).Success);
        Assert.Equal([IdOf(bobs.Token!)], (await _workspace.RunAsync("token", "list")).Rows().Select(row => row[0]));
        var fresh = await api.IssueAsync("alice", "alice-password");
        Assert.True((await api.ValidateAsync(fresh.Token!)).Success);
    }

    [Fact]
    public async Task Token_revoke_all_deletes_every_token_of_every_account_and_reports_the_count()
    {
        await _workspace.AddAccountAsync("alice", "alice-password");
        await _workspace.AddAccountAsync("bob", "bob-password");
        await using var server = await _workspace.StartServerAsync();
        var api = server.Api();
        var tokens = new[] { await api.IssueAsync("alice", "alice-password"), await api.IssueAsync("bob", "bob-password"), await api.IssueAsync("bob", "bob-password", "10.9.8.7") };

        var revoked = await _workspace.RunAsync("token", "revoke", "--all");
        var again = await _workspace.RunAsync("token", "revoke", "--all");

        Assert.Equal((ExitCodes.Ok, string.Empty), (revoked.ExitCode, revoked.Error));
        Assert.Equal("Revoked 3 token(s).", revoked.Output.Trim());
        foreach (var token in tokens)
        {
            Assert.Equal("Invalid token", (await api.ValidateAsync(token.Token!)).Error);
        }

        Assert.Empty((await _workspace.RunAsync("token", "list")).Rows());
        Assert.Equal("Revoked 0 token(s).", again.Output.Trim());
        Assert.Equal(2, (await _workspace.RunAsync("account", "list")).Rows().Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("--account alice --all")]
    [InlineData("--id 0123456789abcdef --account alice")]
    public async Task Token_revoke_needs_exactly_one_of_id_account_or_all(string options)
    {
        await _workspace.AddAccountAsync("alice", "alice-password");
        await using var server = await _workspace.StartServerAsync();
        var issued = await server.Api().IssueAsync("alice", "alice-password");

        var result = await _workspace.RunAsync(["token", "revoke", .. options.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Contains("Give exactly one of --id ID, --account NAME or --all.", result.Error, StringComparison.Ordinal);
        Assert.True((await server.Api().ValidateAsync(issued.Token!)).Success);
    }

    [Fact(Timeout = 180_000)]
    public async Task Token_revoke_by_id_through_the_real_cli_deletes_that_token_only_audits_it_and_refuses_an_unknown_id()
    {
        await _workspace.AddAccountAsync("alice", "alice-password");
        await _workspace.AddAccountAsync("bob", "bob-password");
        await using var server = await _workspace.StartServerAsync();
        var api = server.Api();
        var kept = await api.IssueAsync("alice", "alice-password");
        var target = await api.IssueAsync("alice", "alice-password", "10.1.2.3");
        var bobs = await api.IssueAsync("bob", "bob-password");

        // The id as token list shows it (the row of the token bound to 10.1.2.3).
        var list = await RunTokenGateAsync("token", "list");
        Assert.Equal(ExitCodes.Ok, list.ExitCode);
        var id = Assert.Single(list.Rows(), row => row[2] == "10.1.2.3")[0];

        var revoked = await RunTokenGateAsync("token", "revoke", "--id", id);

        Assert.Equal((ExitCodes.Ok, string.Empty, $"Revoked token {id} of alice."), (revoked.ExitCode, revoked.Error, revoked.Output.Trim()));
        Assert.Equal(_workspace.DatabasePath, revoked.Database);
        Assert.Equal("Invalid token", (await api.ValidateAsync(target.Token!)).Error);
        Assert.True((await api.ValidateAsync(kept.Token!)).Success);
        Assert.True((await api.ValidateAsync(bobs.Token!)).Success);
        Assert.Equal(2, (await RunTokenGateAsync("token", "list")).Rows().Count);

        var audit = await RunTokenGateAsync("audit", "--account", "alice", "--json");
        Assert.Equal(ExitCodes.Ok, audit.ExitCode);
        using (var entries = JsonDocument.Parse(audit.Output))
        {
            var entry = Assert.Single(entries.RootElement.EnumerateArray(), e => e.GetProperty("action").GetString() == AuditActions.TokenRevoke);
            Assert.Equal(("alice", "cli", "done", id), (entry.GetProperty("account").GetString(), entry.GetProperty("client").GetString(), entry.GetProperty("outcome").GetString(), entry.GetProperty("tokenId").GetString()));
        }

        // The same id again, and an id no token ever had: one line naming it, exit 1, nothing deleted.
        foreach (var unknown in new[] { id, "0123456789abcdef" })
        {
            var refused = await RunTokenGateAsync("token", "revoke", "--id", unknown);
            Assert.Equal((ExitCodes.Failed, string.Empty), (refused.ExitCode, refused.Output));
            Assert.Equal($"error: there is no token with id '{unknown}' (token list shows them).\n", refused.Error);
        }

        Assert.True((await api.ValidateAsync(kept.Token!)).Success);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("token")]
    [InlineData("0123456789abcdeg")]
    [InlineData("0123")]
    public async Task Token_revoke_with_something_that_is_not_an_id_fails_in_one_line_that_never_repeats_it(string given)
    {
        await _workspace.AddAccountAsync("alice", "alice-password");
        await using var server = await _workspace.StartServerAsync();
        var issued = await server.Api().IssueAsync("alice", "alice-password");
        var value = given == "token" ? issued.Token! : given;

        var result = await RunTokenGateAsync("token", "revoke", "--id", value);

        Assert.Equal((ExitCodes.Failed, string.Empty), (result.ExitCode, result.Output));
        Assert.Equal("error: --id takes a token id as token list shows it (16 hexadecimal characters), not a token.\n", result.Error);
        Assert.DoesNotContain(value, result.Error, StringComparison.Ordinal);
        Assert.True((await server.Api().ValidateAsync(issued.Token!)).Success);
    }

    [Fact]
    public async Task Token_revoke_for_an_unknown_account_fails_with_a_message_naming_it()
    {
        var result = await _workspace.RunAsync("token", "revoke", "--account", "ghost");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal("error: there is no account named 'ghost'.", result.Error.Trim());
    }

    [Fact]
    public async Task Token_purge_keeps_expired_tokens_inside_the_retention_window_and_deletes_those_past_it()
    {
        var (expired, valid, api) = await ExpiredAndValidTokensAsync();
        await using var _ = api;

        var byDefault = await _workspace.RunAsync("token", "purge");
        var withinAnHour = await _workspace.RunAsync("token", "purge", "--expired-retention", "1h");

        Assert.Equal((ExitCodes.Ok, string.Empty, "Purged 0 expired token(s)."), (byDefault.ExitCode, byDefault.Error, byDefault.Output.Trim()));
        Assert.Equal((ExitCodes.Ok, string.Empty, "Purged 0 expired token(s)."), (withinAnHour.ExitCode, withinAnHour.Error, withinAnHour.Output.Trim()));
        var before = await _workspace.RunAsync("token", "list");
        Assert.Equal("expired", Assert.Single(before.RowsStartingWith(IdOf(expired.Token!)))[5]);
        Assert.Equal("valid", Assert.Single(before.RowsStartingWith(IdOf(valid.Token!)))[5]);

        var purged = await _workspace.RunAsync("token", "purge", "--expired-retention", "0s");

        Assert.Equal((ExitCodes.Ok, string.Empty, "Purged 1 expired token(s)."), (purged.ExitCode, purged.Error, purged.Output.Trim()));
        Assert.Equal([IdOf(valid.Token!)], (await _workspace.RunAsync("token", "list")).Rows().Select(row => row[0]));
        Assert.Equal("Invalid token", (await api.ShortLived.ValidateAsync(expired.Token!)).Error);
        Assert.True((await api.Normal.ValidateAsync(valid.Token!)).Success);
    }

    [Fact]
    public async Task Token_purge_including_retained_deletes_every_expired_token_and_no_valid_one()
    {
        var (expired, valid, api) = await ExpiredAndValidTokensAsync();
        await using var _ = api;

        var purged = await _workspace.RunAsync("token", "purge", "--include-retained");

        Assert.Equal((ExitCodes.Ok, string.Empty, "Purged 1 expired token(s)."), (purged.ExitCode, purged.Error, purged.Output.Trim()));
        Assert.Equal([IdOf(valid.Token!)], (await _workspace.RunAsync("token", "list")).Rows().Select(row => row[0]));
        Assert.Equal("Invalid token", (await api.ShortLived.ValidateAsync(expired.Token!)).Error);
        Assert.True((await api.Normal.ValidateAsync(valid.Token!)).Success);
    }

    [Fact]
    public async Task Token_purge_with_a_bad_retention_is_a_configuration_error_naming_the_option()
    {
        var result = await _workspace.RunAsync("token", "purge", "--expired-retention", "soon");

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.Contains("--expired-retention", result.Error, StringComparison.Ordinal);
        Assert.Contains("'soon'", result.Error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Output);
    }

    /// <summary>Runs the built <c>tokengate</c> executable as its own process on the workspace's database.</summary>
    private async Task<CliResult> RunTokenGateAsync(params string[] args)
    {
        using var process = TokenGateProcess.Start(_workspace.Directory, [.. args, "--database", _workspace.DatabasePath]);
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return CliResult.Of(exitCode, process.Output, process.Error);
    }

    /// <summary>The token list's id: the first 8 bytes of the SHA-256 of the token's characters, in hex.</summary>
    private static string IdOf(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(token))[..8]);

    private static string Time(long unixSeconds) =>
        DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    private static void AssertRow(CliResult result, ContractBody token, string account, string addresses)
    {
        var row = Assert.Single(result.RowsStartingWith(IdOf(token.Token!)));
        Assert.Matches("^[0-9a-f]{16}$", row[0]);
        Assert.Equal(account, row[1]);
        Assert.Equal(addresses, row[2]);
        var issued = DateTimeOffset.ParseExact(row[3] + "Z", "yyyy-MM-dd HH:mm:ssK", System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(issued, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(Time(token.Expire!.Value), row[4]);
        Assert.Equal("valid", row[5]);
    }

    /// <summary>
    /// Two servers on the workspace's files: one issues 1-second tokens, the other 12-hour ones. Returns a token of the first,
    /// once it answers "Expired token", and a valid one of the second.
    /// </summary>
    private async Task<(ContractBody Expired, ContractBody Valid, TwoServers Servers)> ExpiredAndValidTokensAsync()
    {
        await _workspace.AddAccountAsync("brief", "brief-password");
        await _workspace.AddAccountAsync("lasting", "lasting-password");
        var servers = new TwoServers(
            await _workspace.StartServerAsync(new Dictionary<string, string?> { ["TokenLifetime"] = "1" }),
            await _workspace.StartServerAsync());
        var expired = await servers.ShortLived.IssueAsync("brief", "brief-password");
        var valid = await servers.Normal.IssueAsync("lasting", "lasting-password");

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while ((await servers.ShortLived.ValidateAsync(expired.Token!)).Error != "Expired token")
        {
            Assert.True(DateTime.UtcNow < deadline, "The 1-second token did not expire.");
            await Task.Delay(200);
        }

        return (expired, valid, servers);
    }

    private sealed class TwoServers(TokenGateTestServer shortLived, TokenGateTestServer normal) : IAsyncDisposable
    {
        public TokenApiClient ShortLived { get; } = shortLived.Api();

        public TokenApiClient Normal { get; } = normal.Api();

        public async ValueTask DisposeAsync()
        {
            await shortLived.DisposeAsync();
            await normal.DisposeAsync();
        }
    }
}
