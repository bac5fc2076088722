using TokenGate.Cli;

namespace TokenGate.Tests;

/// <summary><c>tokengate account ...</c> run in-process against a temporary database, checked against a real server on the same files.</summary>
public sealed class AccountCommandTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task Account_add_with_a_password_creates_an_enabled_account_that_can_get_a_token()
    {
        var added = await _workspace.RunAsync("account", "add", "alice", "--password", "correct-horse");
        var listed = await _workspace.RunAsync("account", "list");

        Assert.Equal((ExitCodes.Ok, string.Empty), (added.ExitCode, added.Error));
        Assert.Equal("Created account alice.", added.Output.Trim());
        Assert.Equal((ExitCodes.Ok, string.Empty), (listed.ExitCode, listed.Error));
        Assert.StartsWith("NAME", listed.Output, StringComparison.Ordinal);
        var row = Assert.Single(listed.Rows());
        Assert.Equal("alice", row[0]);
        Assert.Equal("enabled", row[1]);
        Assert.Equal("0", row[2]);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", row[3]);

        await using var server = await _workspace.StartServerAsync();
        await server.Api().IssueAsync("alice", "correct-horse");
        Assert.Equal("Authentication failure", (await server.Api().GetTokenAsync("alice", "correct-horsE")).Error);
    }

    [Fact]
    public async Task Account_list_on_an_empty_database_says_how_to_create_an_account()
    {
        var listed = await _workspace.RunAsync("account", "list");

        Assert.Equal((ExitCodes.Ok, string.Empty), (listed.ExitCode, listed.Error));
        Assert.Contains("No accounts", listed.Output, StringComparison.Ordinal);
        Assert.Contains("account add NAME", listed.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Account_add_without_a_password_prints_a_generated_one_once_and_it_works_over_http()
    {
        var added = await _workspace.RunAsync("account", "add", "generated");
        var listed = await _workspace.RunAsync("account", "list");

        Assert.Equal((ExitCodes.Ok, string.Empty), (added.ExitCode, added.Error));
        var password = added.GeneratedPassword();
        Assert.True(password.Length >= 20, $"A generated password should be long; got {password.Length} characters.");
        Assert.Equal(1, CountOf(added.Output, password));
        Assert.DoesNotContain(password, listed.Output, StringComparison.Ordinal);

        await using var server = await _workspace.StartServerAsync();
        var issued = await server.Api().IssueAsync("generated", password);
        Assert.True((await server.Api().ValidateAsync(issued.Token!)).Success);
    }

    [Fact]
    public async Task Account_add_with_password_stdin_reads_the_password_from_the_first_line_of_input()
    {
        var added = await _workspace.RunWithInputAsync("from-standard-input\nsecond line\n", "account", "add", "piped", "--password-stdin");

        Assert.Equal((ExitCodes.Ok, string.Empty), (added.ExitCode, added.Error));
        Assert.Equal("Created account piped.", added.Output.Trim());

        await using var server = await _workspace.StartServerAsync();
        await server.Api().IssueAsync("piped", "from-standard-input");
    }

    [Fact]
    public async Task Account_add_accepts_a_64_character_name_of_every_allowed_kind_of_character()
    {
        var name = "Az09._@-" + new string('x', 56);

        var added = await _workspace.RunAsync("account", "add", name, "--password", "long-enough");

        Assert.Equal((ExitCodes.Ok, string.Empty), (added.ExitCode, added.Error));
        Assert.Equal(name, Assert.Single((await _workspace.RunAsync("account", "list")).Rows())[0]);
    }

    [Theory]
    [InlineData("bad name!")]
    [InlineData("semi;colon")]
    [InlineData("ünïcode")]
    [InlineData("")]
    [InlineData("a65")]
    public async Task Account_add_refuses_an_invalid_name_and_creates_nothing(string name)
    {
        name = name == "a65" ? new string('a', 65) : name;

        var added = await _workspace.RunAsync("account", "add", name, "--password", "long-enough");

        Assert.Equal(ExitCodes.Failed, added.ExitCode);
        Assert.Equal($"error: '{name}' is not a valid account name: use 1-64 letters, digits and ._@-", added.Error.Trim());
        Assert.Equal(string.Empty, added.Output);
        Assert.Contains("No accounts", (await _workspace.RunAsync("account", "list")).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Account_add_refuses_a_duplicate_name_and_keeps_the_first_password()
    {
        await _workspace.AddAccountAsync("twice", "first-password");

        var again = await _workspace.RunAsync("account", "add", "twice", "--password", "second-password");

        Assert.Equal(ExitCodes.Failed, again.ExitCode);
        Assert.Equal("error: an account named 'twice' already exists.", again.Error.Trim());
        Assert.Single((await _workspace.RunAsync("account", "list")).Rows());

        await using var server = await _workspace.StartServerAsync();
        await server.Api().IssueAsync("twice", "first-password");
        Assert.False((await server.Api().GetTokenAsync("twice", "second-password")).Success);
    }

    [Fact]
    public async Task Account_names_match_exactly_and_a_name_differing_only_in_case_cannot_be_added()
    {
        await _workspace.AddAccountAsync("Case", "first-password");

        var other = await _workspace.RunAsync("account", "add", "case", "--password", "other-password");

        Assert.Equal(ExitCodes.Failed, other.ExitCode);
        Assert.Single((await _workspace.RunAsync("account", "list")).Rows());
        Assert.Equal(ExitCodes.Failed, (await _workspace.RunAsync("account", "disable", "case")).ExitCode);
        Assert.Equal(ExitCodes.Ok, (await _workspace.RunAsync("account", "show", "Case")).ExitCode);
    }

    [Theory]
    [InlineData("--password", "seven77")]
    [InlineData("--password", "129")]
    [InlineData("--password", "tab\tinside")]
    [InlineData("--password-stdin", "")]
    [InlineData("--password", "password1")]
    [InlineData("--password", "Qwertyuiop")]
    [InlineData("--password-stdin", "12345678")]
    [InlineData("--password", "WEAK-weak")]
    public async Task Account_add_refuses_a_password_outside_the_policy_and_creates_nothing(string option, string password)
    {
        password = password == "129" ? new string('p', 129) : password;

        var added = option == "--password-stdin"
            ? await _workspace.RunWithInputAsync(password, "account", "add", "weak", "--password-stdin")
            : await _workspace.RunAsync("account", "add", password == "WEAK-weak" ? "weak-WEAK" : "weak", "--password", password);

        Assert.Equal(ExitCodes.Failed, added.ExitCode);
        Assert.Equal($"error: the password does not meet the policy (8 to 128 characters, no control characters, not one of the {TokenGate.Accounts.CommonPasswords.Count:N0} most common passwords nor the account's name).", added.Error.Trim());
        Assert.Equal(string.Empty, added.Output);
        Assert.Contains("No accounts", (await _workspace.RunAsync("account", "list")).Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("disable")]
    [InlineData("enable")]
    [InlineData("remove")]
    [InlineData("passwd")]
    public async Task Account_commands_on_an_unknown_account_fail_with_a_message_naming_it(string verb)
    {
        string[] args = verb == "passwd" ? ["account", verb, "ghost", "--password", "long-enough"] : ["account", verb, "ghost"];

        var result = await _workspace.RunAsync(args);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal("error: there is no account named 'ghost'.", result.Error.Trim());
        Assert.Equal(string.Empty, result.Output);
    }

    [Fact]
    public async Task Account_add_without_a_name_is_a_usage_error()
    {
        var result = await _workspace.RunAsync("account", "add");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Contains("Required argument missing", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Account_disable_deletes_the_accounts_tokens_and_refuses_login_until_enable()
    {
        await _workspace.AddAccountAsync("alice", "alice-password");
        await _workspace.AddAccountAsync("bob", "bob-password");
        await using var server = await _workspace.StartServerAsync();
        var api = server.Api();
        var alices = await api.IssueAsync("alice", "alice-password");
        var bobs = await api.IssueAsync("bob", "bob-password");
        Assert.True((await api.ValidateAsync(alices.Token!)).Success);

        var disabled = await _workspace.RunAsync("account", "disable", "alice");

        Assert.Equal((ExitCodes.Ok, string.Empty), (disabled.ExitCode, disabled.Error));
        Assert.Equal("Disabled alice; its tokens were deleted.", disabled.Output.Trim());
        Assert.Equal("Invalid token", (await api.ValidateAsync(alices.Token!)).Error);
        Assert.Equal("Authentication failure", (await api.GetTokenAsync("alice", "alice-password")).Error);
        Assert.True((await api.ValidateAsync(bobs.Token!)).Success);
        var listed = await _workspace.RunAsync("account", "list");
        Assert.Equal("disabled", Assert.Single(listed.RowsStartingWith("alice"))[1]);
        Assert.Equal("enabled", Assert.Single(listed.RowsStartingWith("bob"))[1]);
        Assert.Empty((await _workspace.RunAsync("token", "list", "--account", "alice")).Rows());

        var enabled = await _workspace.RunAsync("account", "enable", "alice");

        Assert.Equal((ExitCodes.Ok, string.Empty), (enabled.ExitCode, enabled.Error));
        Assert.Equal("Enabled alice.", enabled.Output.Trim());
        Assert.Equal("enabled", Assert.Single((await _workspace.RunAsync("account", "list")).RowsStartingWith("alice"))[1]);
        var again = await api.IssueAsync("alice", "alice-password");
        Assert.NotEqual(alices.Token, again.Token);
        Assert.True((await api.ValidateAsync(again.Token!)).Success);
        Assert.Equal("Invalid token", (await api.ValidateAsync(alices.Token!)).Error);
    }

    [Fact]
    public async Task Account_remove_deletes_the_account_and_its_tokens()
    {
        await _workspace.AddAccountAsync("leaving", "leaving-password");
        await _workspace.AddAccountAsync("staying", "staying-password");
        await using var server = await _workspace.StartServerAsync();
        var api = server.Api();
        var issued = await api.IssueAsync("leaving", "leaving-password");

        var removed = await _workspace.RunAsync("account", "remove", "leaving");

        Assert.Equal((ExitCodes.Ok, string.Empty), (removed.ExitCode, removed.Error));
        Assert.Equal("Removed leaving.", removed.Output.Trim());
        Assert.Equal("Invalid token", (await api.ValidateAsync(issued.Token!)).Error);
        Assert.Equal("Authentication failure", (await api.GetTokenAsync("leaving", "leaving-password")).Error);
        Assert.Equal(["staying"], (await _workspace.RunAsync("account", "list")).Rows().Select(row => row[0]));
        Assert.Equal(ExitCodes.Failed, (await _workspace.RunAsync("account", "remove", "leaving")).ExitCode);
    }

    [Fact]
    public async Task Account_passwd_changes_the_password_and_deletes_the_accounts_tokens()
    {
        await _workspace.AddAccountAsync("alice", "old-password");
        await _workspace.AddAccountAsync("bob", "bob-password");
        await using var server = await _workspace.StartServerAsync();
        var api = server.Api();
        var alices = await api.IssueAsync("alice", "old-password");
        var bobs = await api.IssueAsync("bob", "bob-password");

        var changed = await _workspace.RunAsync("account", "passwd", "alice", "--password", "new-password");

        Assert.Equal((ExitCodes.Ok, string.Empty), (changed.ExitCode, changed.Error));
        Assert.Equal("Changed the password of alice; its tokens were deleted.", changed.Output.Trim());
        Assert.Equal("Invalid token", (await api.ValidateAsync(alices.Token!)).Error);
        Assert.True((await api.ValidateAsync(bobs.Token!)).Success);
        Assert.Equal("Authentication failure", (await api.GetTokenAsync("alice", "old-password")).Error);
        await api.IssueAsync("alice", "new-password");
    }

    [Fact]
    public async Task Account_passwd_without_a_password_prints_a_generated_one_that_works()
    {
        await _workspace.AddAccountAsync("alice", "old-password");

        var changed = await _workspace.RunAsync("account", "passwd", "alice");

        Assert.Equal((ExitCodes.Ok, string.Empty), (changed.ExitCode, changed.Error));
        var password = changed.GeneratedPassword();
        await using var server = await _workspace.StartServerAsync();
        await server.Api().IssueAsync("alice", password);
        Assert.Equal("Authentication failure", (await server.Api().GetTokenAsync("alice", "old-password")).Error);
    }

    [Fact]
    public async Task Account_passwd_with_password_stdin_reads_the_new_password_from_input()
    {
        await _workspace.AddAccountAsync("alice", "old-password");

        var changed = await _workspace.RunWithInputAsync("piped-new-password\n", "account", "passwd", "alice", "--password-stdin");

        Assert.Equal((ExitCodes.Ok, string.Empty), (changed.ExitCode, changed.Error));
        Assert.DoesNotContain("piped-new-password", changed.Output, StringComparison.Ordinal);
        await using var server = await _workspace.StartServerAsync();
        await server.Api().IssueAsync("alice", "piped-new-password");
    }

    [Fact]
    public async Task Account_passwd_refuses_a_weak_password_and_keeps_the_old_one()
    {
        await _workspace.AddAccountAsync("alice", "old-password");

        var changed = await _workspace.RunAsync("account", "passwd", "alice", "--password", "short");

        Assert.Equal(ExitCodes.Failed, changed.ExitCode);
        Assert.Contains("the password does not meet the policy", changed.Error, StringComparison.Ordinal);
        await using var server = await _workspace.StartServerAsync();
        await server.Api().IssueAsync("alice", "old-password");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_new_database_and_its_folder_are_readable_by_their_owner_only()
    {
        var added = await _workspace.RunAsync("account", "add", "alice", "--password", "correct-horse");

        Assert.Equal(ExitCodes.Ok, added.ExitCode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_workspace.DatabasePath));
    }

    [Theory]
    [InlineData("add")]
    [InlineData("passwd")]
    public async Task Password_and_password_stdin_together_are_a_usage_error(string verb)
    {
        await _workspace.RunAsync("account", "add", "alice", "--password", "correct-horse");

        var result = await _workspace.RunWithInputAsync("another-password\n", "account", verb, "alice", "--password", "one-password", "--password-stdin");

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Contains("not both", result.Error, StringComparison.Ordinal);
    }

    private static int CountOf(string text, string value) =>
        (text.Length - text.Replace(value, string.Empty, StringComparison.Ordinal).Length) / value.Length;
}
