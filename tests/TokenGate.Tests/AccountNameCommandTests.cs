using Microsoft.Data.Sqlite;
using TokenGate.Cli;

namespace TokenGate.Tests;

/// <summary>Look-alike account names (issue 25, item 7): refused on <c>account add</c>; old clashes reported by <c>account list</c>
/// and <c>config check</c>, never changed.</summary>
public sealed class AccountNameCommandTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Theory]
    [InlineData("Alice")]
    [InlineData("ALICE")]
    public async Task Account_add_of_a_name_that_differs_only_in_case_is_refused_with_one_line_naming_the_existing_account(string name)
    {
        await _workspace.AddAccountAsync("alice", "alice password");

        var added = await _workspace.RunAsync("account", "add", name, "--password", "another password");

        Assert.Equal(ExitCodes.Failed, added.ExitCode);
        Assert.Equal(
            $"error: an account named 'alice' already exists, and account names are unique ignoring case: choose another name than '{name}'.{Environment.NewLine}",
            added.Error);
        Assert.Equal(["alice"], (await _workspace.RunAsync("account", "list")).Rows().Select(row => row[0]));
    }

    [Fact]
    public async Task Names_that_clash_from_before_are_kept_and_reported_by_account_list_and_config_check()
    {
        await _workspace.AddAccountAsync("alice", "alice password");
        await _workspace.AddAccountAsync("bob", "bob password");

        // As a database created before names were unique ignoring case holds them: written past the store's check.
        using (var connection = new SqliteConnection($"Data Source={_workspace.DatabasePath};Pooling=False"))
        {
            connection.Open();
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO accounts (name, password_hash, created_at) SELECT 'Alice', password_hash, created_at FROM accounts WHERE name = 'alice'";
            Assert.Equal(1, insert.ExecuteNonQuery());
        }

        var listed = await _workspace.RunAsync("account", "list");
        Assert.Equal(ExitCodes.Ok, listed.ExitCode);
        Assert.Equal(["Alice", "alice", "bob"], listed.Rows().Select(row => row[0]));
        var warning = Assert.Single(listed.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("warning: account names that differ only in case, created before names were unique ignoring case: Alice, alice.", warning, StringComparison.Ordinal);

        var checkedConfiguration = await _workspace.RunAsync("config", "check", "--urls", "http://127.0.0.1:0");
        Assert.Equal(ExitCodes.Ok, checkedConfiguration.ExitCode);
        Assert.Equal(warning, Assert.Single(checkedConfiguration.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries)));

        Assert.Equal(ExitCodes.Ok, (await _workspace.RunAsync("account", "show", "Alice")).ExitCode);
        Assert.Equal(ExitCodes.Failed, (await _workspace.RunAsync("account", "add", "ALICE", "--password", "another password")).ExitCode);
    }
}
