using System.Text.RegularExpressions;
using TokenGate.Cli;
using TokenGate.Storage.Sqlite;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// What one run of <c>tokengate</c> wrote and exited with. <see cref="Error"/> is standard error without the line that names the
/// database the command used, which is in <see cref="Database"/> (null when the command named none).
/// </summary>
public sealed record CliResult(int ExitCode, string Output, string Error, string? Database = null)
{
    /// <summary>Splits the <c>Using the ... database PATH.</c> line off standard error.</summary>
    public static CliResult Of(int exitCode, string output, string error)
    {
        var match = Regex.Match(error, @"^Using the (?:SQLite|PostgreSQL) database (.+)\.\n", RegexOptions.Multiline);
        return match.Success
            ? new CliResult(exitCode, output, error.Remove(match.Index, match.Length), match.Groups[1].Value)
            : new CliResult(exitCode, output, error);
    }

    /// <summary>The password the CLI generated and printed once.</summary>
    public string GeneratedPassword()
    {
        var match = Regex.Match(Output, @"^Password \(shown once, keep it now\): (\S+)$", RegexOptions.Multiline);
        Assert.True(match.Success, $"No generated password in: {Output}");
        return match.Groups[1].Value;
    }

    /// <summary>The cells of the table rows whose first cell is <paramref name="first"/> (cells are separated by two spaces or more).</summary>
    public IReadOnlyList<string[]> RowsStartingWith(string first) =>
        Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => Regex.Split(line.TrimEnd(), @"\s{2,}"))
            .Where(cells => cells[0] == first)
            .ToList();

    /// <summary>The data rows of a table (every line after the header).</summary>
    public IReadOnlyList<string[]> Rows() =>
        Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Skip(1)
            .Select(line => Regex.Split(line.TrimEnd(), @"\s{2,}"))
            .ToList();
}

/// <summary>The one check, shared by every start-up failure test, that a failure printed no stack trace.</summary>
public static class CliAssert
{
    /// <summary>What every line of a .NET stack trace starts with.</summary>
    public const string StackFrame = "   at ";

    /// <summary>Fails, showing both streams, when standard output or standard error holds a line with a stack frame.</summary>
    public static void NoStackFrame(string output, string error)
    {
        var frames = (output + "\n" + error).Split('\n').Where(line => line.Contains(StackFrame, StringComparison.Ordinal)).ToList();
        Assert.True(frames.Count == 0, $"A stack frame was printed ({frames.Count} line(s)).\nstdout:\n{output}\nstderr:\n{error}");
    }

    public static void NoStackFrame(CliResult result) => NoStackFrame(result.Output, result.Error);
}

/// <summary>
/// A temporary directory holding a TokenGate database, with the <c>tokengate</c> command line run in-process against it (always
/// with <c>--database</c>, never the default ./data) and real servers started on the same files, as an operator would have them.
/// </summary>
public sealed class CliWorkspace : IDisposable
{
    private readonly TempDirectory _directory = new("tokengate-cli");

    public string Directory => _directory.Path;

    public string DatabasePath => _directory.File("tokengate.db");

    /// <summary>Runs <c>tokengate</c> on this workspace's database, which exists (empty) before the first command, as a server would have made it.</summary>
    public async Task<CliResult> RunAsync(params string[] args)
    {
        await EnsureDatabaseAsync();
        return await InvokeAsync([.. args, "--database", DatabasePath], string.Empty);
    }

    public async Task<CliResult> RunWithInputAsync(string input, params string[] args)
    {
        await EnsureDatabaseAsync();
        return await InvokeAsync([.. args, "--database", DatabasePath], input);
    }

    /// <summary>Creates the database with its schema, as serve or account add would, when it does not exist yet.</summary>
    public async Task EnsureDatabaseAsync()
    {
        if (!File.Exists(DatabasePath))
        {
            await using var store = new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = DatabasePath });
            await store.InitializeAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Runs <c>tokengate</c> in-process with exactly <paramref name="args"/>. A command that should have stopped but runs on
    /// (a <c>serve</c> that was expected to refuse) is cancelled after a minute, so that the test fails instead of hanging.
    /// </summary>
    public static async Task<CliResult> InvokeAsync(string[] args, string input)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var reader = new StringReader(input);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var exitCode = await TokenGateCli.InvokeAsync(args, output, error, reader, timeout.Token);
        return CliResult.Of(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Creates an account with <c>account add NAME --password P</c> and checks that it worked.</summary>
    public async Task AddAccountAsync(string name, string password)
    {
        var result = await RunAsync("account", "add", name, "--password", password);
        Assert.Equal((ExitCodes.Ok, string.Empty), (result.ExitCode, result.Error));
    }

    /// <summary>A real server on loopback that uses this workspace's database and key file.</summary>
    public Task<TokenGateTestServer> StartServerAsync(IReadOnlyDictionary<string, string?>? settings = null) =>
        TokenGateTestServer.StartAsync(settings, directory: Directory);

    public void Dispose() => _directory.Dispose();
}
