using System.Diagnostics;

namespace TokenGate.Tests;

/// <summary>Per-account policies across two instances (issue 17): the operator's change is followed by both within a second.</summary>
public sealed partial class PostgresClusterTests
{
    [Fact(Timeout = TestTimeout)]
    public async Task Narrowing_an_accounts_networks_refuses_its_tokens_and_logins_on_both_instances_within_a_second()
    {
        await using var cluster = await TwoInstances.StartAsync(postgres);
        await cluster.CliAsync("account", "add", "alice", "--password", Password, "--token-lifetime", "2h");

        // Cached on both: a token bound to 127.0.0.1, and alice's verified password on the second instance.
        var token = await cluster.WarmTokenAsync("127.0.0.1");
        var expire = (await cluster.Api(1).ValidateAsync(token)).Expire!.Value;
        Assert.InRange(expire - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 7_190, 7_200);
        Assert.True((await cluster.Api(1).GetTokenAsync("alice", Password, "127.0.0.1")).Success);

        await cluster.CliAsync("account", "set", "alice", "--allow-from", "10.0.0.0/8");
        var since = Stopwatch.StartNew();
        var tokenLag = await LagUntilAsync(since, async () => await IsRefused(cluster.Api(0).ValidateAsync(token)) && await IsRefused(cluster.Api(1).ValidateAsync(token)));
        var loginLag = await LagUntilAsync(since, async () => (await cluster.Api(1).GetTokenAsync("alice", Password, "127.0.0.1")).Error == "Authentication failure");

        Report($"Policy lag across two instances: token {tokenLag.TotalMilliseconds:F0} ms, login {loginLag.TotalMilliseconds:F0} ms");
        Assert.True(tokenLag < RevocationDeadline, $"the token took {tokenLag.TotalMilliseconds:F0} ms");
        Assert.True(loginLag < RevocationDeadline, $"the login took {loginLag.TotalMilliseconds:F0} ms");

        // Widening again lets alice in from loopback; the narrowed token was refused, never deleted, so it validates again.
        await cluster.CliAsync("account", "set", "alice", "--allow-from", "any");
        since.Restart();
        var back = await LagUntilAsync(since, async () => (await cluster.Api(0).ValidateAsync(token)).Success && (await cluster.Api(1).ValidateAsync(token)).Success);
        Assert.True(back < RevocationDeadline, $"widening took {back.TotalMilliseconds:F0} ms");
        cluster.AssertLogsAreClean();
    }
}
