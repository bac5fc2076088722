using System.Text.RegularExpressions;
using TokenGate.Cli;

namespace TokenGate.Tests;

/// <summary><c>--help</c> works on the root and on every command, and describes the command asked about.</summary>
public sealed class HelpTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Theory]
    [InlineData("", "wire-compatible with the ContactNow token API")]
    [InlineData("serve", "Run the token server.")]
    [InlineData("account", "Manage accounts")]
    [InlineData("account add", "Create an account.")]
    [InlineData("account list", "List accounts.")]
    [InlineData("account disable", "Disable an account and delete its tokens")]
    [InlineData("account enable", "Enable a disabled account.")]
    [InlineData("account remove", "Remove an account and its tokens.")]
    [InlineData("account passwd", "Set an account's password")]
    [InlineData("token", "Inspect and revoke tokens.")]
    [InlineData("token list", "List tokens: id (not the token)")]
    [InlineData("token revoke", "Delete tokens at once")]
    [InlineData("token purge", "Delete expired tokens past the retention window")]
    public async Task Help_on_every_command_prints_its_usage_and_description_and_exits_0(string command, string description)
    {
        var path = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);

        var result = await _workspace.RunAsync([.. path, "--help"]);

        Assert.Equal((ExitCodes.Ok, string.Empty), (result.ExitCode, result.Error));
        Assert.Contains(description, result.Output, StringComparison.Ordinal);
        var usage = path.Length == 0 ? @"\S+ \[command\]" : @"\S+ " + Regex.Escape(command) + @"( |$)";
        Assert.Matches(new Regex(@"^Usage:\n  " + usage, RegexOptions.Multiline), result.Output);
        Assert.Contains("--database <PATH>", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve", "--demo")]
    [InlineData("serve", "--trusted-proxy <IP|CIDR|unix>")]
    [InlineData("account add", "--password-stdin")]
    [InlineData("token purge", "--include-retained")]
    [InlineData("token purge", "--expired-retention <DURATION>")]
    public async Task Help_lists_each_commands_options(string command, string option)
    {
        var result = await _workspace.RunAsync([.. command.Split(' '), "--help"]);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Contains(option, result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_command_is_a_usage_error_that_names_it()
    {
        var result = await _workspace.RunAsync("acount", "list");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Contains("'acount'", result.Error, StringComparison.Ordinal);
    }
}
