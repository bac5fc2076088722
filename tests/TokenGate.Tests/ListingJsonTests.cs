using System.Text.Json;
using TokenGate.Cli;

namespace TokenGate.Tests;

/// <summary>
/// <c>--json</c> on account list, token list and audit (one array on standard output, nothing else there), the same exit code
/// for an unknown account everywhere, and the demo account's creation in the audit trail.
/// </summary>
public sealed class ListingJsonTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task Account_list_json_is_one_array_with_every_account()
    {
        await _workspace.AddAccountAsync("alice", "alice's password");
        await _workspace.RunAsync("account", "add", "api", "--password", "api's long password", "--introspect");

        var result = await _workspace.RunAsync("account", "list", "--json");

        Assert.Equal((ExitCodes.Ok, string.Empty), (result.ExitCode, result.Error));
        var accounts = JsonDocument.Parse(result.Output).RootElement.EnumerateArray().ToList();
        Assert.Equal(["alice", "api"], accounts.Select(a => a.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        var alice = accounts.Single(a => a.GetProperty("name").GetString() == "alice");
        Assert.True(alice.GetProperty("enabled").GetBoolean());
        Assert.Equal(0, alice.GetProperty("activeTokens").GetInt32());
        Assert.False(alice.GetProperty("introspect").GetBoolean());
        Assert.True(accounts.Single(a => a.GetProperty("name").GetString() == "api").GetProperty("introspect").GetBoolean());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", alice.GetProperty("createdAt").GetString());
    }

    [Fact]
    public async Task An_empty_list_in_json_is_an_empty_array()
    {
        foreach (var command in new[] { new[] { "account", "list", "--json" }, ["token", "list", "--json"], ["audit", "--json"] })
        {
            var result = await _workspace.RunAsync(command);

            Assert.Equal(ExitCodes.Ok, result.ExitCode);
            Assert.Equal(0, JsonDocument.Parse(result.Output).RootElement.GetArrayLength());
        }
    }

    [Fact]
    public async Task Token_list_and_audit_json_show_a_token_by_id_never_by_value()
    {
        await _workspace.AddAccountAsync("alice", "alice's password");
        await using var server = await _workspace.StartServerAsync();
        var issued = await server.Api().IssueAsync("alice", "alice's password");

        var tokens = await _workspace.RunAsync("token", "list", "--json");
        var audit = await _workspace.RunAsync("audit", "--account", "alice", "--json");

        var token = Assert.Single(JsonDocument.Parse(tokens.Output).RootElement.EnumerateArray().ToList());
        Assert.Equal("alice", token.GetProperty("account").GetString());
        Assert.Equal("valid", token.GetProperty("state").GetString());
        Assert.Matches("^[0-9a-f]{16}$", token.GetProperty("id").GetString());
        var entries = JsonDocument.Parse(audit.Output).RootElement.EnumerateArray().ToList();
        Assert.Contains(entries, e => e.GetProperty("action").GetString() == "account.add" && e.GetProperty("client").GetString() == "cli");
        Assert.All(entries, e => Assert.Equal("alice", e.GetProperty("account").GetString()));
        Assert.DoesNotContain(issued.Token!, tokens.Output + audit.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("audit", "--account", "nobody")]
    [InlineData("token", "list", "--account", "nobody")]
    [InlineData("token", "revoke", "--account", "nobody")]
    [InlineData("account", "disable", "nobody")]
    public async Task An_unknown_account_exits_1_with_one_line_in_every_command(params string[] command)
    {
        var result = await _workspace.RunAsync(command);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.StartsWith("error: there is no account named 'nobody'", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Audit_of_a_removed_account_still_shows_its_history()
    {
        await _workspace.AddAccountAsync("gone", "gone's password");
        await _workspace.RunAsync("account", "remove", "gone");

        var result = await _workspace.RunAsync("audit", "--account", "gone");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Equal(["account.remove", "account.add"], result.Rows().Select(row => row[3]));
    }

    [Fact(Timeout = 120_000)]
    public async Task Serve_demo_audits_the_accounts_creation_and_names_a_non_default_database_in_its_hint()
    {
        using var serving = new CancellationTokenSource();
        using var output = new StringWriter();
        var serve = TokenGateCli.InvokeAsync(["serve", "--demo", "--urls", "http://127.0.0.1:0", "--database", _workspace.DatabasePath], output, TextWriter.Null, TextReader.Null, serving.Token);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!output.ToString().Contains("password:", StringComparison.Ordinal) && DateTime.UtcNow < deadline && !serve.IsCompleted)
        {
            await Task.Delay(50);
        }

        await serving.CancelAsync();
        await serve;

        Assert.Contains($"set a new one with 'account passwd demo --database {_workspace.DatabasePath}'", output.ToString(), StringComparison.Ordinal);
        var audit = await _workspace.RunAsync("audit", "--account", "demo");
        var row = Assert.Single(audit.Rows());
        Assert.Equal(("demo", "cli", "account.add", "done"), (row[1], row[2], row[3], row[4]));
    }
}
