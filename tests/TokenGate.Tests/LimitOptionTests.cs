using TokenGate.Cli;

namespace TokenGate.Tests;

/// <summary><c>--limit</c> of token list and audit: a positive whole number, anything else refused with a message saying so.</summary>
public sealed class LimitOptionTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Theory]
    [InlineData("token", "list", "abc")]
    [InlineData("token", "list", "0")]
    [InlineData("token", "list", "-5")]
    [InlineData("audit", null, "abc")]
    [InlineData("audit", null, "0")]
    [InlineData("audit", null, "-5")]
    public async Task A_limit_that_is_not_a_positive_whole_number_is_refused_saying_what_to_give(string command, string? subcommand, string limit)
    {
        string[] args = subcommand is null ? [command, "--limit", limit] : [command, subcommand, "--limit", limit];

        var result = await _workspace.RunAsync(args);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Contains($"--limit: '{limit}' is not a number of rows; give a whole number of 1 or more", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.Int32", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_positive_limit_shows_that_many_rows()
    {
        await _workspace.AddAccountAsync("alice", "alice's long password");
        await _workspace.AddAccountAsync("bob", "bob's long password");

        var result = await _workspace.RunAsync("audit", "--limit", "1");

        Assert.Equal((ExitCodes.Ok, string.Empty), (result.ExitCode, result.Error));
        Assert.Equal(2, result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
