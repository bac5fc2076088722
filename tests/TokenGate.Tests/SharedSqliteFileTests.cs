using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// Two <c>tokengate serve</c> processes on one SQLite file (one machine, one local file system), as docs/SCALING.md describes:
/// both start; a token issued by one is valid on the other, handed back by the other's <c>get</c>, and a delete, a password
/// change or a disabled account on either (or by the CLI) is seen by the other on its very next request.
/// </summary>
public sealed class SharedSqliteFileTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 180_000)]
    public async Task Two_servers_on_one_sqlite_file_share_tokens_and_revocations_at_once()
    {
        using var directory = new TempDirectory("tokengate-shared-file");
        var database = directory.File("tokengate.db");
        Assert.Equal(ExitCodes.Ok, (await CliWorkspace.InvokeAsync(["account", "add", "alice", "--password", "alice's password", "--database", database], string.Empty)).ExitCode);
        Assert.Equal(ExitCodes.Ok, (await CliWorkspace.InvokeAsync(["account", "add", "bob", "--password", "bob's password", "--database", database], string.Empty)).ExitCode);

        using var first = TokenGateProcess.Start(directory.Path, "serve", "--urls", "http://127.0.0.1:0", "--database", database);
        using var second = TokenGateProcess.Start(directory.Path, "serve", "--urls", "http://127.0.0.1:0", "--database", database);
        using var firstHttp = LoopbackClient.Create(await first.WaitForListeningAsync(StartTimeout));
        using var secondHttp = LoopbackClient.Create(await second.WaitForListeningAsync(StartTimeout));
        var a = new TokenApiClient(firstHttp);
        var b = new TokenApiClient(secondHttp);

        // Issued on one, valid on the other, and the other's get hands the same token back.
        var issued = await a.IssueAsync("alice", "alice's password");
        Assert.True((await b.ValidateAsync(issued.Token!)).Success);
        Assert.Equal(issued.Token, (await b.GetTokenAsync("alice", "alice's password")).Token);

        // Deleted on the second: refused by the first at once (its cache follows the file's data version).
        Assert.True((await b.DeleteAsync(issued.Token!)).Success);
        Assert.Equal("Invalid token", (await a.ValidateAsync(issued.Token!)).Error);

        // A password changed with a token on the first: the old password fails on the second at once.
        var bobs = await a.IssueAsync("bob", "bob's password");
        Assert.True((await a.NewPasswordAsync(bobs.Token!, "bob's new password")).Success);
        Assert.Equal("Authentication failure", (await b.GetTokenAsync("bob", "bob's password")).Error);
        Assert.True((await b.GetTokenAsync("bob", "bob's new password")).Success);

        // The operator disables an account with the CLI while both run: both refuse its token and its password at once.
        var again = await b.IssueAsync("alice", "alice's password");
        Assert.Equal(ExitCodes.Ok, (await CliWorkspace.InvokeAsync(["account", "disable", "alice", "--database", database], string.Empty)).ExitCode);
        Assert.Equal("Invalid token", (await a.ValidateAsync(again.Token!)).Error);
        Assert.Equal("Invalid token", (await b.ValidateAsync(again.Token!)).Error);
        Assert.Equal("Authentication failure", (await a.GetTokenAsync("alice", "alice's password")).Error);

        Assert.Equal(0, await first.TerminateAsync(StartTimeout));
        Assert.Equal(0, await second.TerminateAsync(StartTimeout));
        Assert.DoesNotContain("fail:", first.Output + second.Output, StringComparison.Ordinal);
    }
}
