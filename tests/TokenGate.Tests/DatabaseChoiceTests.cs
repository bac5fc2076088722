using TokenGate.Cli;

namespace TokenGate.Tests;

/// <summary>
/// Which database a command uses, and that only <c>serve</c> and <c>account add</c> create one: a mistyped <c>--database</c>, or a
/// command run from another directory, is refused with one line naming the path, and leaves no file behind.
/// </summary>
public sealed class DatabaseChoiceTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    public static TheoryData<string[]> CommandsThatNeverCreate() => new()
    {
        new[] { "account", "list" },
        new[] { "account", "disable", "alice" },
        new[] { "account", "passwd", "alice", "--password", "a long password" },
        new[] { "token", "list" },
        new[] { "token", "revoke", "--all" },
        new[] { "token", "purge" },
        new[] { "audit" },
        new[] { "throttle", "list" },
    };

    [Theory]
    [MemberData(nameof(CommandsThatNeverCreate))]
    public async Task A_command_other_than_account_add_refuses_a_missing_database_naming_its_path_and_creates_nothing(string[] command)
    {
        var typo = Path.Combine(_workspace.Directory, "typo", "tokengate.db");

        var result = await CliWorkspace.InvokeAsync([.. command, "--database", typo], string.Empty);

        Assert.Equal(ExitCodes.StorageUnavailable, result.ExitCode);
        Assert.Equal(
            $"error: there is no TokenGate database at {typo}; check --database (a relative path is from the current directory), or create it with 'tokengate account add NAME' or 'tokengate serve'.\n",
            result.Error);
        Assert.Empty(result.Output);
        Assert.False(Directory.Exists(Path.GetDirectoryName(typo)), "the command created the database's folder");
    }

    [Fact]
    public async Task A_missing_file_in_an_existing_folder_is_refused_without_creating_it_or_its_wal()
    {
        var typo = Path.Combine(_workspace.Directory, "tokengte.db");

        var result = await CliWorkspace.InvokeAsync(["account", "list", "--database", typo], string.Empty);

        Assert.Equal(ExitCodes.StorageUnavailable, result.ExitCode);
        Assert.Empty(Directory.GetFiles(_workspace.Directory));
    }

    [Fact]
    public async Task Account_add_creates_a_missing_database_and_says_which_and_later_commands_name_the_same_file()
    {
        var fresh = Path.Combine(_workspace.Directory, "new", "tokengate.db");

        var added = await CliWorkspace.InvokeAsync(["account", "add", "alice", "--password", "a long password", "--database", fresh], string.Empty);
        var listed = await CliWorkspace.InvokeAsync(["account", "list", "--database", fresh], string.Empty);

        Assert.Equal((ExitCodes.Ok, string.Empty, fresh), (added.ExitCode, added.Error, added.Database));
        Assert.True(File.Exists(fresh));
        Assert.Equal((ExitCodes.Ok, string.Empty, fresh), (listed.ExitCode, listed.Error, listed.Database));
        Assert.Equal("alice", Assert.Single(listed.Rows())[0]);
    }

    [Fact]
    public async Task A_relative_database_is_named_by_its_full_path()
    {
        await _workspace.EnsureDatabaseAsync();
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), _workspace.DatabasePath);

        var listed = await CliWorkspace.InvokeAsync(["audit", "--database", relative], string.Empty);

        Assert.Equal((ExitCodes.Ok, _workspace.DatabasePath), (listed.ExitCode, listed.Database));
    }

    [Theory]
    [InlineData("account", "list")]
    [InlineData("account", "add", "alice")]
    [InlineData("config", "check")]
    [InlineData("backup", "copy.db")]
    public async Task A_directory_given_as_the_database_is_refused_with_one_line_naming_the_file_to_give(params string[] command)
    {
        var result = await CliWorkspace.InvokeAsync([.. command, "--database", _workspace.Directory], string.Empty);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.Equal(
            $"error: --database (TokenGate:Database): '{_workspace.Directory}' is a directory; name the database file in it, e.g. {Path.Combine(_workspace.Directory, "tokengate.db")}.\n",
            result.Error);
        Assert.Empty(Directory.GetFileSystemEntries(_workspace.Directory));
    }

    [Fact(Timeout = 120_000)]
    public async Task Serve_refuses_a_directory_given_as_the_database()
    {
        var result = await CliWorkspace.InvokeAsync(["serve", "--urls", "http://127.0.0.1:0", "--database", _workspace.Directory], string.Empty);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.StartsWith($"error: --database (TokenGate:Database): '{_workspace.Directory}' is a directory;", result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_workspace.Directory));
    }
}
