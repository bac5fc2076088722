using System.Text.RegularExpressions;
using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>What one run of <c>tokengate</c> wrote and exited with.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
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

/// <summary>
/// A temporary directory holding a TokenGate database, with the <c>tokengate</c> command line run in-process against it (always
/// with <c>--database</c>, never the default ./data) and real servers started on the same files, as an operator would have them.
/// </summary>
public sealed class CliWorkspace : IDisposable
{
    private readonly TempDirectory _directory = new("tokengate-cli");

    public string Directory => _directory.Path;

    public string DatabasePath => _directory.File("tokengate.db");

    public Task<CliResult> RunAsync(params string[] args) => InvokeAsync([.. args, "--database", DatabasePath], string.Empty);

    public Task<CliResult> RunWithInputAsync(string input, params string[] args) => InvokeAsync([.. args, "--database", DatabasePath], input);

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
        return new CliResult(exitCode, output.ToString(), error.ToString());
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
