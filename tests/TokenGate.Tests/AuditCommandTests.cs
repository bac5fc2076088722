using TokenGate.Cli;

namespace TokenGate.Tests;

/// <summary><c>tokengate audit</c>: operator changes and server events, newest first, filtered.</summary>
public sealed class AuditCommandTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task Audit_shows_operator_changes_and_server_events_newest_first_and_filters_by_account_and_time()
    {
        await _workspace.RunAsync("account", "add", "alice", "--password", "alice's password");
        await _workspace.RunAsync("account", "add", "bob", "--password", "bob's password");
        await using (var server = await _workspace.StartServerAsync())
        {
            await server.Api().IssueAsync("alice", "alice's password");
            await server.Api().GetTokenAsync("alice", "not alice's password");
            await Task.Delay(500);
        }

        await _workspace.RunAsync("account", "disable", "alice");

        var all = await _workspace.RunAsync("audit");
        var alices = await _workspace.RunAsync("audit", "--account", "alice");
        var recent = await _workspace.RunAsync("audit", "--since", "1h", "--limit", "2");
        var future = await _workspace.RunAsync("audit", "--since", "2999-01-01T00:00:00Z");

        Assert.Equal(ExitCodes.Ok, all.ExitCode);
        Assert.Equal(
            [("alice", "cli", "account.disable", "done"), ("alice", "127.0.0.1", "get", "authentication failure"), ("alice", "127.0.0.1", "get", "issued"), ("bob", "cli", "account.add", "done"), ("alice", "cli", "account.add", "done")],
            all.Rows().Select(r => (r[1], r[2], r[3], r[4])));
        Assert.Matches("^[0-9a-f]{16}$", all.Rows()[2][5]);
        Assert.DoesNotContain("password", all.Output.Replace("account.passwd", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.All(alices.Rows(), r => Assert.Equal("alice", r[1]));
        Assert.Equal(4, alices.Rows().Count);
        Assert.Equal(2, recent.Rows().Count);
        Assert.Contains("No audit entries", future.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_with_a_bad_since_exits_1_naming_the_option()
    {
        var result = await _workspace.RunAsync("audit", "--since", "last tuesday");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.StartsWith("error: --since", result.Error, StringComparison.Ordinal);
    }
}
