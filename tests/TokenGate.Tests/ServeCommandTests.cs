using TokenGate.Cli;

namespace TokenGate.Tests;

/// <summary><c>tokengate serve</c> refuses a configuration it cannot use before it listens, and says which option is wrong.</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Theory]
    [InlineData("--token-lifetime", "abc")]
    [InlineData("--token-lifetime", "12x")]
    [InlineData("--expired-retention", "-5")]
    [InlineData("--expired-retention", "forever")]
    [InlineData("--trusted-proxy", "not-an-ip")]
    [InlineData("--trusted-proxy", "10.0.0.0/33")]
    public async Task Serve_with_an_invalid_option_value_exits_2_naming_the_option_and_the_value(string option, string value)
    {
        var result = await _workspace.RunAsync("serve", "--urls", "http://127.0.0.1:0", option, value);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.StartsWith($"error: {option}", result.Error, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", result.Error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Output);
    }

    [Fact]
    public async Task Serve_reports_every_invalid_option_at_once()
    {
        var result = await _workspace.RunAsync(
            "serve", "--urls", "http://127.0.0.1:0", "--token-lifetime", "abc", "--expired-retention", "-5", "--trusted-proxy", "not-an-ip");

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains(lines, line => line.StartsWith("error: --token-lifetime", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("error: --expired-retention", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("error: --trusted-proxy", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("367d")]
    public async Task Serve_with_a_token_lifetime_out_of_range_exits_2(string lifetime)
    {
        var result = await _workspace.RunAsync("serve", "--urls", "http://127.0.0.1:0", "--token-lifetime", lifetime);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.StartsWith("error: --token-lifetime", result.Error, StringComparison.Ordinal);
        Assert.Contains("use 1 second to 366 days", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://127.0.0.1:0;http://[::]:0")]
    [InlineData("http://*:0")]
    public async Task Serve_demo_refuses_to_listen_beyond_loopback_and_creates_no_account(string urls)
    {
        var result = await _workspace.RunAsync("serve", "--demo", "--urls", urls);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.Contains("--demo", result.Error, StringComparison.Ordinal);
        Assert.Contains("loopback", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("password:", result.Output, StringComparison.Ordinal);
        Assert.Contains("No accounts", (await _workspace.RunAsync("account", "list")).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commands_on_a_database_that_cannot_be_opened_exit_3_with_a_message_and_no_stack_trace()
    {
        File.WriteAllText(Path.Combine(_workspace.Directory, "a-file"), "not a folder");

        // A directory given as the database is a configuration error (exit 2): DatabaseChoiceTests. A missing file is refused
        // by every command but account add, which tries to create it here.
        var database = Path.Combine(_workspace.Directory, "a-file", "tokengate.db");
        var result = await CliWorkspace.InvokeAsync(["account", "add", "alice", "--database", database], string.Empty);

        Assert.Equal(ExitCodes.StorageUnavailable, result.ExitCode);
        Assert.Equal(
            $"error: Cannot create the SQLite database {database}: {Path.Combine(_workspace.Directory, "a-file")} is a file, not a folder; name a database path whose folders are folders (or can be created), or move that file away.\n",
            result.Error);
        CliAssert.NoStackFrame(result);
    }

    [Theory]
    [InlineData("account", "list")]
    [InlineData("config", "check")]
    [InlineData("serve", "--urls", "http://127.0.0.1:0")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_file_that_is_not_a_SQLite_database_exits_3_saying_it_is_not_a_TokenGate_database(params string[] command)
    {
        await File.WriteAllTextAsync(_workspace.DatabasePath, string.Concat(Enumerable.Repeat("not the bytes of a SQLite database\n", 200)));
        File.SetUnixFileMode(_workspace.DatabasePath, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var result = await _workspace.RunAsync(command);

        Assert.Equal(ExitCodes.StorageUnavailable, result.ExitCode);
        Assert.Equal(
            $"error: The SQLite database {_workspace.DatabasePath} is unavailable: SQLite Error 26: 'file is not a database'; it is not a TokenGate database (or it is damaged); check --database.\n",
            result.Error);
        CliAssert.NoStackFrame(result);
        Assert.StartsWith("not the bytes", await File.ReadAllTextAsync(_workspace.DatabasePath), StringComparison.Ordinal);
    }
}
