using System.Text;
using Microsoft.Extensions.Logging;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// No password or token leaves the server: not in a log line at any level, not in the database files. A full contract run is
/// made with credentials in query strings (the ContactNow way) and in bodies, including mistakes such as a password typed into
/// the username field, and then every captured log line and every byte of the database, WAL and shared-memory files is searched.
/// </summary>
public sealed class SecretsTests
{
    private sealed record Run(TokenGateTestServer Server, List<string> Secrets, List<string> Tokens);

    private static async Task<Run> RunFullContractAsync(TokenGateTestServer server)
    {
        const string Name = "secret-keeper";
        const string Password = "Pa55word-under-test-7f3a";
        const string NewPassword = "N3w-pa55word-under-test-91c2";
        const string WrongPassword = "Wr0ng-pa55word-under-test-5d0e";
        const string PasswordAsUsername = "Typed-in-the-wrong-field-4b8c";
        await server.CreateAccountAsync(Name, Password);
        var secrets = new List<string> { Password, NewPassword, WrongPassword, PasswordAsUsername };
        var tokens = new List<string>();

        foreach (var mode in Enum.GetValues<SendMode>())
        {
            foreach (var format in new[] { "json", "xml" })
            {
                var client = new TokenApiClient(server.CreateClient(), "token.php", mode, format);
                var other = new TokenApiClient(server.CreateClient(LoopbackClient.Second), "api/token.php", mode, format);
                var current = secrets.Contains(NewPassword + mode + format) ? NewPassword : Password;

                await client.GetTokenAsync(Name, WrongPassword);
                await client.GetTokenAsync(PasswordAsUsername, Password);
                var issued = await client.GetTokenAsync(Name, Password);
                var bound = await client.GetTokenAsync(Name, Password, "127.0.0.2, 10.0.0.1");
                tokens.Add(issued.Token!);
                tokens.Add(bound.Token!);
                await client.ValidateAsync(issued.Token!);
                await other.ValidateAsync(issued.Token!);
                await other.DeleteAsync(issued.Token!);
                await client.CallAsync(("action", "validate"), ("token", issued.Token!), ("token", issued.Token!));
                await client.NewPasswordAsync(issued.Token!, "short");
                Assert.True((await client.NewPasswordAsync(issued.Token!, NewPassword)).Success);
                Assert.True((await client.NewPasswordAsync(issued.Token!, Password)).Success);
                await other.ValidateAsync(bound.Token!);
                Assert.True((await client.DeleteAsync(issued.Token!)).Success);
                await client.ValidateAsync(issued.Token!);
                _ = current;
            }
        }

        // A request that fails inside the server must not carry its arguments into the error log either.
        using var http = server.CreateClient();
        await http.PutAsync($"token.php?action=get&username={Name}&password={Password}", null);
        await http.GetAsync($"token.php?action=get&username={Name}&password={Password}&password={Password}");
        await http.GetAsync($"no-such-path?token={tokens[0]}&password={Password}");
        await http.GetAsync($"token.php?action=validate&token={tokens[0]}&pad={new string('x', 20_000)}");

        return new Run(server, secrets, tokens);
    }

    /// <summary>The forms a secret could take in a log or a file: as sent, URL-encoded, upper-cased, UTF-16, and a token's raw bytes.</summary>
    private static IEnumerable<(string Label, byte[] Bytes)> Forms(IEnumerable<string> secrets, IEnumerable<string> tokens)
    {
        foreach (var secret in secrets.Concat(tokens))
        {
            yield return (secret, Encoding.UTF8.GetBytes(secret));
            yield return (secret + " (url-encoded)", Encoding.UTF8.GetBytes(Uri.EscapeDataString(secret)));
            yield return (secret + " (UTF-16)", Encoding.Unicode.GetBytes(secret));
        }

        foreach (var token in tokens)
        {
            yield return (token + " (raw)", Convert.FromHexString(token));
            yield return (token + " (upper)", Encoding.ASCII.GetBytes(token.ToUpperInvariant()));
            yield return (token + " (base64)", Encoding.ASCII.GetBytes(Convert.ToBase64String(Convert.FromHexString(token))));
        }
    }

    [Fact]
    public async Task No_log_line_at_any_level_holds_a_password_or_a_token()
    {
        await using var server = await TokenGateTestServer.StartAsync(minimumLevel: LogLevel.Trace);
        var run = await RunFullContractAsync(server);

        var lines = server.Logs.Lines.ToList();
        var all = string.Join("\n", lines);

        Assert.Contains(lines, line => line.StartsWith("Trace", StringComparison.Ordinal) || line.StartsWith("Debug", StringComparison.Ordinal));
        Assert.Contains(Tokens.TokenValue.IdOf(Tokens.TokenValue.ComputeDigest(run.Tokens[0])), all, StringComparison.Ordinal);
        foreach (var (label, bytes) in Forms(run.Secrets, run.Tokens).Where(f => !f.Label.EndsWith("(raw)", StringComparison.Ordinal) && !f.Label.EndsWith("(UTF-16)", StringComparison.Ordinal)))
        {
            Assert.False(all.Contains(Encoding.UTF8.GetString(bytes), StringComparison.OrdinalIgnoreCase), $"A log line holds {label}");
        }
    }

    [Fact]
    public async Task A_copy_of_the_database_files_holds_no_password_or_token()
    {
        using var directory = new TempDirectory();
        var server = await TokenGateTestServer.StartAsync(directory: directory.Path);
        Run run;
        try
        {
            run = await RunFullContractAsync(server);

            // While running, most recent writes sit in the WAL: search it too.
            AssertNoSecrets(directory.Path, run);
        }
        finally
        {
            await server.DisposeAsync();
        }

        AssertNoSecrets(directory.Path, run);
    }

    private static void AssertNoSecrets(string directory, Run run)
    {
        var files = Directory.GetFiles(directory, "tokengate.db*");
        Assert.Contains(files, f => f.EndsWith("tokengate.db", StringComparison.Ordinal));
        var contents = files.Select(f => (Name: Path.GetFileName(f), Bytes: ReadShared(f))).ToList();

        // The search works: the account name is stored in clear.
        Assert.Contains(contents, c => c.Bytes.AsSpan().IndexOf("secret-keeper"u8) >= 0);

        foreach (var (label, bytes) in Forms(run.Secrets, run.Tokens))
        {
            foreach (var (name, content) in contents)
            {
                Assert.True(content.AsSpan().IndexOf(bytes) < 0, $"{name} holds {label}");
            }
        }
    }

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
