using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Accounts;
using TokenGate.Cli;
using TokenGate.Operators;

namespace TokenGate.Tests;

/// <summary>
/// <c>tokengate operator ...</c> (console operators, not API accounts) run in-process against a temporary database, checked with
/// the server's own <see cref="OperatorService"/> on the same files (what the console's login asks) and with <c>tokengate audit</c>.
/// </summary>
public sealed class OperatorCommandTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task Operator_add_with_a_password_creates_an_operator_whose_password_the_console_accepts()
    {
        var added = await _workspace.RunAsync("operator", "add", "admin", "--password", "correct-horse");

        Assert.Equal((ExitCodes.Ok, "Created operator admin.\n", string.Empty), (added.ExitCode, added.Output, added.Error));
        await using var server = await _workspace.StartServerAsync();
        var operators = server.App.Services.GetRequiredService<OperatorService>();
        Assert.Equal("admin", (await operators.VerifyAsync("admin", "correct-horse", CancellationToken.None))?.Name);
        Assert.Null(await operators.VerifyAsync("admin", "correct-horsE", CancellationToken.None));
    }

    [Fact]
    public async Task Operator_add_without_a_password_prints_a_generated_one_once()
    {
        var added = await _workspace.RunAsync("operator", "add", "admin");

        var password = added.GeneratedPassword();
        Assert.Equal(
            (ExitCodes.Ok, $"Created operator admin.\nPassword (shown once, keep it now): {password}\n", string.Empty),
            (added.ExitCode, added.Output, added.Error));
        Assert.True(password.Length >= 20, $"A generated password should be long; got {password.Length} characters.");
        Assert.DoesNotContain(password, (await _workspace.RunAsync("operator", "list")).Output, StringComparison.Ordinal);
        await using var server = await _workspace.StartServerAsync();
        Assert.NotNull(await server.App.Services.GetRequiredService<OperatorService>().VerifyAsync("admin", password, CancellationToken.None));
    }

    [Fact]
    public async Task Operator_add_with_password_stdin_reads_the_first_line_of_input()
    {
        var added = await _workspace.RunWithInputAsync("from-standard-input\nsecond line\n", "operator", "add", "piped", "--password-stdin");

        Assert.Equal((ExitCodes.Ok, "Created operator piped.\n", string.Empty), (added.ExitCode, added.Output, added.Error));
        await using var server = await _workspace.StartServerAsync();
        Assert.NotNull(await server.App.Services.GetRequiredService<OperatorService>().VerifyAsync("piped", "from-standard-input", CancellationToken.None));
    }

    [Fact]
    public async Task Operator_add_refuses_both_password_options_at_once()
    {
        var added = await _workspace.RunWithInputAsync("piped-password\n", "operator", "add", "admin", "--password", "correct-horse", "--password-stdin");

        Assert.NotEqual(ExitCodes.Ok, added.ExitCode);
        Assert.Contains("Give --password or --password-stdin, not both.", added.Error, StringComparison.Ordinal);
        Assert.Equal("No console operators. Add one with: tokengate operator add NAME\n", (await _workspace.RunAsync("operator", "list")).Output);
    }

    [Theory]
    [InlineData("bad name!", "correct-horse", "error: 'bad name!' is not a valid operator name: use 1-64 letters, digits and ._@-")]
    [InlineData("operator1", "Operator1", "error: the password does not meet the policy ({policy}).")]
    [InlineData("admin", "password", "error: the password does not meet the policy ({policy}).")]
    public async Task Operator_add_refuses_a_bad_name_or_password_and_adds_nothing(string name, string password, string expected)
    {
        expected = expected.Replace(
            "{policy}",
            string.Create(CultureInfo.InvariantCulture, $"8 to 128 characters, no control characters, not one of the {CommonPasswords.Count:N0} most common passwords nor the operator's name"),
            StringComparison.Ordinal);

        var added = await _workspace.RunAsync("operator", "add", name, "--password", password);

        Assert.Equal((ExitCodes.Failed, string.Empty, expected + "\n"), (added.ExitCode, added.Output, added.Error));
        Assert.Equal("No console operators. Add one with: tokengate operator add NAME\n", (await _workspace.RunAsync("operator", "list")).Output);
    }

    [Fact]
    public async Task Operator_add_refuses_a_name_taken_ignoring_case_and_names_the_existing_operator()
    {
        await _workspace.RunAsync("operator", "add", "Admin", "--password", "correct-horse");

        var exact = await _workspace.RunAsync("operator", "add", "Admin", "--password", "correct-horse");
        var folded = await _workspace.RunAsync("operator", "add", "admin", "--password", "correct-horse");

        Assert.Equal((ExitCodes.Failed, "error: an operator named 'Admin' already exists.\n"), (exact.ExitCode, exact.Error));
        Assert.Equal(
            (ExitCodes.Failed, "error: an operator named 'Admin' already exists, and operator names are unique ignoring case: choose another name than 'admin'.\n"),
            (folded.ExitCode, folded.Error));
    }

    [Fact]
    public async Task An_operator_and_an_account_of_the_same_name_are_separate()
    {
        await _workspace.AddAccountAsync("alice", "account-password");

        var added = await _workspace.RunAsync("operator", "add", "alice", "--password", "operator-password");

        Assert.Equal(ExitCodes.Ok, added.ExitCode);
        await using var server = await _workspace.StartServerAsync();
        var operators = server.App.Services.GetRequiredService<OperatorService>();
        Assert.Null(await operators.VerifyAsync("alice", "account-password", CancellationToken.None));
        Assert.NotNull(await operators.VerifyAsync("alice", "operator-password", CancellationToken.None));
        await server.Api().IssueAsync("alice", "account-password");
        Assert.Equal("Authentication failure", (await server.Api().GetTokenAsync("alice", "operator-password")).Error);
    }

    [Fact]
    public async Task Operator_list_shows_names_and_creation_times_as_a_table_or_json()
    {
        await _workspace.RunAsync("operator", "add", "zoe", "--password", "correct-horse");
        await _workspace.RunAsync("operator", "add", "admin", "--password", "correct-horse");

        var table = await _workspace.RunAsync("operator", "list");
        var json = await _workspace.RunAsync("operator", "list", "--json");

        Assert.Equal((ExitCodes.Ok, string.Empty), (table.ExitCode, table.Error));
        Assert.Matches(@"^NAME   CREATED \(UTC\)\s*\nadmin  \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s*\nzoe    \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s*\n$", table.Output);
        using var document = JsonDocument.Parse(json.Output);
        Assert.Equal(["admin", "zoe"], document.RootElement.EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        Assert.All(document.RootElement.EnumerateArray(), o => Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", o.GetProperty("createdAt").GetString()));
    }

    [Fact]
    public async Task Operator_passwd_sets_a_new_password_and_ends_the_console_sessions()
    {
        await _workspace.RunAsync("operator", "add", "admin", "--password", "correct-horse");
        string stampBefore;
        await using (var server = await _workspace.StartServerAsync())
        {
            stampBefore = (await server.App.Services.GetRequiredService<OperatorService>().FindAsync("admin", CancellationToken.None))!.CredentialStamp;
        }

        var changed = await _workspace.RunWithInputAsync("battery-staple\n", "operator", "passwd", "admin", "--password-stdin");
        var unknown = await _workspace.RunAsync("operator", "passwd", "nobody", "--password", "battery-staple");

        Assert.Equal(
            (ExitCodes.Ok, "Changed the password of operator admin; their console sessions end.\n", string.Empty),
            (changed.ExitCode, changed.Output, changed.Error));
        Assert.Equal((ExitCodes.Failed, "error: there is no operator named 'nobody'.\n"), (unknown.ExitCode, unknown.Error));
        await using var after = await _workspace.StartServerAsync();
        var operators = after.App.Services.GetRequiredService<OperatorService>();
        Assert.Null(await operators.VerifyAsync("admin", "correct-horse", CancellationToken.None));
        Assert.NotEqual(stampBefore, (await operators.VerifyAsync("admin", "battery-staple", CancellationToken.None))!.CredentialStamp);
    }

    [Fact]
    public async Task Operator_remove_deletes_the_operator_and_fails_for_an_unknown_one()
    {
        await _workspace.RunAsync("operator", "add", "admin", "--password", "correct-horse");

        var removed = await _workspace.RunAsync("operator", "remove", "admin");
        var again = await _workspace.RunAsync("operator", "remove", "admin");

        Assert.Equal((ExitCodes.Ok, "Removed operator admin.\n", string.Empty), (removed.ExitCode, removed.Output, removed.Error));
        Assert.Equal((ExitCodes.Failed, string.Empty, "error: there is no operator named 'admin'.\n"), (again.ExitCode, again.Output, again.Error));
        Assert.Equal("No console operators. Add one with: tokengate operator add NAME\n", (await _workspace.RunAsync("operator", "list")).Output);
    }

    [Fact]
    public async Task Every_operator_change_is_audited_with_the_cli_as_client_and_no_password()
    {
        await _workspace.RunAsync("operator", "add", "admin");
        await _workspace.RunAsync("operator", "passwd", "admin", "--password", "battery-staple");
        await _workspace.RunAsync("operator", "remove", "admin");
        await _workspace.RunAsync("operator", "remove", "admin");

        var audit = await _workspace.RunAsync("audit");

        Assert.Equal(
            [
                ["admin", "cli", "operator.remove", "done", "-", "-"],
                ["admin", "cli", "operator.passwd", "done", "-", "-"],
                ["admin", "cli", "operator.add", "done", "-", "-"],
            ],
            audit.Rows().Select(row => row[1..]));
        Assert.DoesNotContain("battery-staple", audit.Output, StringComparison.Ordinal);
    }
}
