using TokenGate.Cli;

namespace TokenGate.Tests;

/// <summary><c>tokengate account set|show</c> and the policy options of <c>account add</c> and <c>account list</c> (issue 17).</summary>
public sealed class AccountPolicyCommandTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task Account_add_with_policy_options_stores_them_and_list_show_and_set_print_and_change_them()
    {
        var added = await _workspace.RunAsync("account", "add", "partner", "--password", "partner password", "--allow-from", "127.0.0.1, 2001:db8::/32", "--token-lifetime", "1h", "--max-tokens", "5");
        await _workspace.RunAsync("account", "add", "plain", "--password", "plain password");
        Assert.Equal((ExitCodes.Ok, string.Empty), (added.ExitCode, added.Error));

        var listed = await _workspace.RunAsync("account", "list");
        Assert.Contains("ALLOWED FROM", listed.Output, StringComparison.Ordinal);
        Assert.Equal(["127.0.0.1/32,2001:db8::/32", "1h", "5"], listed.RowsStartingWith("partner").Single()[^3..]);
        Assert.Equal(["any", "server", "server"], listed.RowsStartingWith("plain").Single()[^3..]);

        var shown = await _workspace.RunAsync("account", "show", "partner");
        Assert.Equal(ExitCodes.Ok, shown.ExitCode);
        Assert.Equal(["allowed from", "127.0.0.1/32, 2001:db8::/32"], shown.RowsStartingWith("allowed from").Single());
        Assert.Equal(["token lifetime", "1h"], shown.RowsStartingWith("token lifetime").Single());
        Assert.Equal(["max tokens", "5"], shown.RowsStartingWith("max tokens").Single());
        var plain = await _workspace.RunAsync("account", "show", "plain");
        Assert.Equal(["allowed from", "any (no restriction)"], plain.RowsStartingWith("allowed from").Single());
        Assert.Equal(["token lifetime", "12h (server setting)"], plain.RowsStartingWith("token lifetime").Single());

        await using (var server = await _workspace.StartServerAsync())
        {
            var api = server.Api();
            Assert.Equal("Bad argument: address", (await api.GetTokenAsync("partner", "partner password", "10.0.0.1")).Error);
            var issued = await api.GetTokenAsync("partner", "partner password");
            Assert.True(issued.Success, issued.Error);
            Assert.InRange(issued.Expire!.Value - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 3_590, 3_600);

            var set = await _workspace.RunAsync("account", "set", "partner", "--allow-from", "any", "--token-lifetime", "default");
            Assert.Equal((ExitCodes.Ok, string.Empty), (set.ExitCode, set.Error));
            Assert.Equal(["allowed from", "any (no restriction)"], set.RowsStartingWith("allowed from").Single());
            Assert.Equal(["max tokens", "5"], set.RowsStartingWith("max tokens").Single());
            Assert.True((await api.GetTokenAsync("partner", "partner password", "10.0.0.1")).Success);
        }
    }

    [Theory]
    [InlineData("--allow-from", "10.0.0.1/8")]
    [InlineData("--allow-from", "not-a-network")]
    [InlineData("--allow-from", "")]
    [InlineData("--token-lifetime", "30s")]
    [InlineData("--token-lifetime", "31d")]
    [InlineData("--token-lifetime", "soon")]
    [InlineData("--max-tokens", "0")]
    [InlineData("--max-tokens", "-3")]
    public async Task Account_set_refuses_a_value_out_of_range_with_a_message_and_changes_nothing(string option, string value)
    {
        await _workspace.RunAsync("account", "add", "partner", "--password", "partner password");

        var set = await _workspace.RunAsync("account", "set", "partner", option, value);

        Assert.Equal(ExitCodes.Failed, set.ExitCode);
        Assert.Contains(option, set.Error, StringComparison.Ordinal);
        Assert.Equal(["any", "server", "server"], (await _workspace.RunAsync("account", "list")).RowsStartingWith("partner").Single()[^3..]);
    }

    [Theory]
    [InlineData("set", "10.0.0.1/8", "10.0.0.0/8")]
    [InlineData("set", "10.0.0.0/8,192.168.1.1/24", "192.168.1.0/24")]
    [InlineData("add", "::1/64", "::/64")]
    public async Task A_range_with_host_bits_set_is_refused_naming_it_and_the_range_it_probably_meant(string command, string allowFrom, string meant)
    {
        await _workspace.RunAsync("account", "add", "partner", "--password", "partner password");

        var result = command == "set"
            ? await _workspace.RunAsync("account", "set", "partner", "--allow-from", allowFrom)
            : await _workspace.RunAsync("account", "add", "other", "--password", "other password", "--allow-from", allowFrom);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        var entry = allowFrom.Split(',')[^1];
        Assert.Contains($"--allow-from '{allowFrom}': '{entry}' has bits set past its /{entry.Split('/')[1]} prefix: did you mean {meant}?", result.Error, StringComparison.Ordinal);
        var listed = await _workspace.RunAsync("account", "list");
        Assert.Equal(["any", "server", "server"], listed.RowsStartingWith("partner").Single()[^3..]);
        Assert.Empty(listed.RowsStartingWith("other"));
    }

    [Fact]
    public async Task Account_set_and_show_of_an_unknown_account_fail_and_set_needs_an_option()
    {
        Assert.Equal(ExitCodes.Failed, (await _workspace.RunAsync("account", "show", "nobody")).ExitCode);
        Assert.Equal(ExitCodes.Failed, (await _workspace.RunAsync("account", "set", "nobody", "--max-tokens", "3")).ExitCode);
        await _workspace.RunAsync("account", "add", "partner", "--password", "partner password");
        var bare = await _workspace.RunAsync("account", "set", "partner");
        Assert.NotEqual(ExitCodes.Ok, bare.ExitCode);
        Assert.Contains("--allow-from", bare.Error, StringComparison.Ordinal);
    }
}
