using System.Text.RegularExpressions;
using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// Two <c>tokengate serve</c> processes on one SQLite file (one machine, one local file system), as docs/SCALING.md describes:
/// both start (racing to create the key file beside the database, and ending with the same key); a token issued by either is
/// valid on both and handed back by the other's <c>get</c>; concurrent <c>get</c>s through both yield one token (SQLite's write
/// lock serializes the writers); and a delete, a password change or an account disabled with the CLI is refused by the other
/// process on its very next request, although that process had the token or the credentials in its caches.
/// </summary>
public sealed class SharedSqliteFileTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly Regex KeyFingerprint = new(@"\(key ([0-9a-f]{8})\)");

    [Fact(Timeout = 180_000)]
    public async Task Two_servers_on_one_sqlite_file_share_tokens_and_revocations_at_once()
    {
        using var directory = new TempDirectory("tokengate-shared-file");
        var database = directory.File("tokengate.db");
        foreach (var name in new[] { "alice", "bob", "carol" })
        {
            var added = await CliWorkspace.InvokeAsync(["account", "add", name, "--password", $"{name}'s password", "--database", database], string.Empty);
            Assert.Equal(ExitCodes.Ok, added.ExitCode);
        }

        // Both start at once; the first to start creates tokengate.key beside the database, the other reads it.
        using var first = TokenGateProcess.Start(directory.Path, "serve", "--urls", "http://127.0.0.1:0", "--database", database);
        using var second = TokenGateProcess.Start(directory.Path, "serve", "--urls", "http://127.0.0.1:0", "--database", database);
        using var firstHttp = LoopbackClient.Create(await first.WaitForListeningAsync(StartTimeout));
        using var secondHttp = LoopbackClient.Create(await second.WaitForListeningAsync(StartTimeout));
        var a = new TokenApiClient(firstHttp);
        var b = new TokenApiClient(secondHttp);
        var firstKey = KeyFingerprint.Match(first.Output);
        var secondKey = KeyFingerprint.Match(second.Output);
        Assert.True(firstKey.Success && secondKey.Success, first.Output + second.Output);
        Assert.Equal(firstKey.Groups[1].Value, secondKey.Groups[1].Value);
        Assert.True(File.Exists(directory.File("tokengate.key")));

        // Issued on either, valid on both, and the other's get hands the same token back.
        var fromFirst = await a.IssueAsync("alice", "alice's password");
        Assert.True((await a.ValidateAsync(fromFirst.Token!)).Success);
        Assert.True((await b.ValidateAsync(fromFirst.Token!)).Success);
        Assert.Equal(fromFirst.Token, (await b.GetTokenAsync("alice", "alice's password")).Token);
        var fromSecond = await b.IssueAsync("bob", "bob's password");
        Assert.True((await b.ValidateAsync(fromSecond.Token!)).Success);
        Assert.True((await a.ValidateAsync(fromSecond.Token!)).Success);
        Assert.Equal(fromSecond.Token, (await a.GetTokenAsync("bob", "bob's password")).Token);

        // Concurrent gets of one account through both processes: one token (the check and the insert run under the write lock).
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => (i % 2 == 0 ? a : b).GetTokenAsync("carol", "carol's password")));
        Assert.All(concurrent, body => Assert.True(body.Success, body.Error));
        Assert.Single(concurrent.Select(body => body.Token).Distinct());

        // Deleted on the second while both have it cached as valid: the first refuses it on its next request.
        Assert.True((await b.DeleteAsync(fromFirst.Token!)).Success);
        Assert.Equal("Invalid token", (await a.ValidateAsync(fromFirst.Token!)).Error);
        Assert.Equal("Invalid token", (await b.ValidateAsync(fromFirst.Token!)).Error);

        // A password changed on the first while the second remembers the old one (it answered bob's get above): the second
        // refuses the old password on its next request and takes the new one.
        Assert.True((await a.NewPasswordAsync(fromSecond.Token!, "bob's new password")).Success);
        Assert.Equal("Authentication failure", (await b.GetTokenAsync("bob", "bob's password")).Error);
        Assert.True((await b.GetTokenAsync("bob", "bob's new password")).Success);

        // The operator disables an account with the CLI while both have its token cached: both refuse the token and the password.
        var again = await b.IssueAsync("alice", "alice's password");
        Assert.True((await a.ValidateAsync(again.Token!)).Success);
        Assert.True((await b.ValidateAsync(again.Token!)).Success);
        Assert.Equal(ExitCodes.Ok, (await CliWorkspace.InvokeAsync(["account", "disable", "alice", "--database", database], string.Empty)).ExitCode);
        Assert.Equal("Invalid token", (await a.ValidateAsync(again.Token!)).Error);
        Assert.Equal("Invalid token", (await b.ValidateAsync(again.Token!)).Error);
        Assert.Equal("Authentication failure", (await a.GetTokenAsync("alice", "alice's password")).Error);
        Assert.Equal("Authentication failure", (await b.GetTokenAsync("alice", "alice's password")).Error);

        Assert.Equal(0, await first.TerminateAsync(StartTimeout));
        Assert.Equal(0, await second.TerminateAsync(StartTimeout));
        Assert.DoesNotContain("fail:", first.Output + second.Output, StringComparison.Ordinal);
    }
}
