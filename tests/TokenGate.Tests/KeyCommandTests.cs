using System.Text.RegularExpressions;
using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary><c>tokengate key init</c>: the key file made before the first start, as docs/DEPLOYMENT.md runs it; the other key
/// commands refuse a key file that does not exist, naming it.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyCommandTests
{
    [Fact]
    public async Task Key_init_creates_a_private_key_file_that_serve_then_only_reads_and_leaves_an_existing_one_as_it_is()
    {
        using var directory = new TempDirectory("tokengate-key");
        var keyFile = directory.File(Path.Combine("etc", "tokengate.key"));

        var created = await CliWorkspace.InvokeAsync(["key", "init", "--key-file", keyFile], string.Empty);
        var key = await File.ReadAllTextAsync(keyFile);
        var again = await CliWorkspace.InvokeAsync(["key", "init", "--key-file", keyFile], string.Empty);

        Assert.Equal((ExitCodes.Ok, string.Empty), (created.ExitCode, created.Error));
        Assert.Matches(@$"^Created the key file {Regex.Escape(keyFile)} \(key [0-9]+, [0-9a-f]{{8}}, mode 0600\)\. Keep it out of database backups\.\n$", created.Output);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.Equal((ExitCodes.Ok, string.Empty), (again.ExitCode, again.Error));
        Assert.Matches(@$"^The key file {Regex.Escape(keyFile)} exists \(active key [0-9]+, [0-9a-f]{{8}}\); left as it is\.\n$", again.Output);
        Assert.Equal(key, await File.ReadAllTextAsync(keyFile));
        Assert.False(File.Exists(directory.File("data/tokengate.db")), "key init must not create a database.");
    }

    [Fact]
    public async Task Key_init_without_key_file_makes_the_one_serve_would_use_beside_the_database()
    {
        using var directory = new TempDirectory("tokengate-key");
        var database = directory.File("tokengate.db");

        var result = await CliWorkspace.InvokeAsync(["key", "init", "--database", database], string.Empty);

        Assert.Equal((ExitCodes.Ok, string.Empty), (result.ExitCode, result.Error));
        Assert.True(File.Exists(directory.File("tokengate.key")));
        Assert.False(File.Exists(database));
    }

    [Fact]
    public async Task Key_init_refuses_in_one_line_when_there_is_no_key_file_to_make()
    {
        var postgres = await CliWorkspace.InvokeAsync(["key", "init", "--database", "postgres://tokengate:secret-password@db.invalid:5432/tokengate"], string.Empty);

        Assert.Equal(ExitCodes.BadConfiguration, postgres.ExitCode);
        Assert.Equal("error: with a PostgreSQL database, name the key file every instance will use: --key-file PATH.\n", postgres.Error);
        Assert.DoesNotContain("secret-password", postgres.Output + postgres.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_init_on_a_key_file_others_can_read_is_a_configuration_error_with_the_fix()
    {
        using var directory = new TempDirectory("tokengate-key");
        var keyFile = directory.File("tokengate.key");
        await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(new byte[32]));
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var result = await CliWorkspace.InvokeAsync(["key", "init", "--key-file", keyFile], string.Empty);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.Equal($"error: The key file {keyFile} can be read or written by other users; make it private with: chmod 600 {keyFile}\n", result.Error);
    }

    [Theory]
    [InlineData("list")]
    [InlineData("add")]
    [InlineData("activate", "2")]
    [InlineData("retire", "1")]
    public async Task Key_commands_on_a_key_file_that_does_not_exist_exit_2_naming_key_init_and_create_nothing(params string[] command)
    {
        using var workspace = new CliWorkspace();
        var keyFile = Path.Combine(workspace.Directory, "keys", "tokengate.key");

        var result = await workspace.RunAsync(["key", .. command, "--key-file", keyFile]);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.Equal(
            $"error: The key file {keyFile} does not exist; give --key-file the key file the servers use, or create it first with: tokengate key init --key-file {keyFile}.\n",
            result.Error);
        Assert.Equal(string.Empty, result.Output);
        CliAssert.NoStackFrame(result);
        Assert.False(Directory.Exists(Path.GetDirectoryName(keyFile)), "a key command created the key file's folder");

        // The fix it names works.
        Assert.Equal(ExitCodes.Ok, (await workspace.RunAsync("key", "init", "--key-file", keyFile)).ExitCode);
        Assert.Equal(ExitCodes.Ok, (await workspace.RunAsync("key", "list", "--key-file", keyFile)).ExitCode);
    }
}
