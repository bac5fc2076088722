using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Microsoft.Data.Sqlite;
using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// An operator's start-up mistakes, each answered with one line (two at most) on standard error that names the cause and the
/// fix, the README's exit code (2 configuration, 3 storage) and no stack trace. The port and appsettings.json cases run the real
/// executable, since the host's own error paths are the ones that print stack traces.
/// </summary>
public sealed class StartupFailureTests : IDisposable
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact(Timeout = 120_000)]
    public async Task Serve_on_a_port_in_use_exits_2_with_one_line_and_no_stack_trace()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)holder.LocalEndpoint).Port}";

        var (exitCode, output, error) = await RunProcessAsync(null, "serve", "--urls", url, "--database", _workspace.DatabasePath);

        Assert.Equal(ExitCodes.BadConfiguration, exitCode);
        Assert.Equal($"error: cannot listen on {url}: the address is already in use; stop the process that holds it, or choose another port with --urls.\n", error);
        CliAssert.NoStackFrame(output, error);
    }

    [Fact(Timeout = 120_000)]
    public async Task Verbose_shows_the_exception_behind_the_line()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)holder.LocalEndpoint).Port}";

        var (exitCode, output, error) = await RunProcessAsync(null, "serve", "--urls", url, "--database", _workspace.DatabasePath, "--verbose");

        Assert.Equal(ExitCodes.BadConfiguration, exitCode);
        Assert.StartsWith($"error: cannot listen on {url}", error, StringComparison.Ordinal);
        Assert.Contains("System.IO.IOException", error, StringComparison.Ordinal);
        Assert.Contains(CliAssert.StackFrame, output + error, StringComparison.Ordinal);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("serve", "--urls", "http://127.0.0.1:0")]
    [InlineData("account", "list")]
    [InlineData("config", "check")]
    public async Task An_appsettings_json_syntax_error_exits_2_naming_the_line_and_byte(params string[] command)
    {
        File.WriteAllText(Path.Combine(_workspace.Directory, "appsettings.json"), """{"TokenGate": {"TokenLifetime":}}""");

        var (exitCode, output, error) = await RunProcessAsync(null, [.. command, "--database", _workspace.DatabasePath]);

        Assert.Equal(ExitCodes.BadConfiguration, exitCode);
        Assert.Equal("error: appsettings.json line 1, byte 32: '}' is an invalid start of a value.\n", error);
        CliAssert.NoStackFrame(output, error);
    }

    [Fact(Timeout = 120_000)]
    public async Task Unknown_settings_in_appsettings_json_and_the_environment_are_warned_about_with_the_nearest_known_one()
    {
        File.WriteAllText(Path.Combine(_workspace.Directory, "appsettings.json"), """{"TokenGate": {"TokenLifetme": "1h", "TrustedProxies": ["10.0.0.0/8"]}}""");
        await _workspace.EnsureDatabaseAsync();

        var (exitCode, output, error) = await RunProcessAsync(
            new Dictionary<string, string> { ["TOKENGATE_SWEEP_INTERVALL"] = "5m" }, "account", "list", "--database", _workspace.DatabasePath);

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.Contains("No accounts", output, StringComparison.Ordinal);
        Assert.Equal(
            "warning: appsettings.json: unknown setting TokenGate:TokenLifetme; did you mean TokenLifetime?\n"
            + "warning: environment: unknown setting TOKENGATE_SWEEP_INTERVALL; did you mean TOKENGATE_SWEEP_INTERVAL?\n"
            + $"Using the SQLite database {_workspace.DatabasePath}.\n",
            error);
    }

    [Theory]
    [InlineData("banana")]
    [InlineData("http://127.0.0.1:99999")]
    [InlineData("ftp://127.0.0.1:21")]
    public async Task Serve_with_urls_it_cannot_listen_on_exits_2_naming_the_value_and_the_form(string urls)
    {
        var result = await _workspace.RunAsync("serve", "--urls", urls);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.Equal(
            $"error: --urls (TokenGate:Urls): '{urls}' is not where to listen; use http://HOST:PORT or https://HOST:PORT with a port of 0-65535 (0 picks a free one), ';'-separated, e.g. http://127.0.0.1:5080.\n",
            result.Error);
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public async Task Serve_with_a_key_file_others_can_read_exits_2_with_the_chmod_that_fixes_it()
    {
        var keyFile = Path.Combine(_workspace.Directory, "tokengate.key");
        Security.SealingKey.LoadOrCreate(keyFile);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var result = await _workspace.RunAsync("serve", "--urls", "http://127.0.0.1:0");

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.Equal($"error: The key file {keyFile} can be read or written by other users; make it private with: chmod 600 {keyFile}\n", result.Error);
        CliAssert.NoStackFrame(result);
    }

    [Fact]
    public async Task Serve_with_a_key_file_that_cannot_be_created_exits_2_naming_it_and_the_fix()
    {
        var blocker = Path.Combine(_workspace.Directory, "a-file");
        File.WriteAllText(blocker, "not a folder");
        var keyFile = Path.Combine(blocker, "tokengate.key");

        var result = await _workspace.RunAsync("serve", "--urls", "http://127.0.0.1:0", "--key-file", keyFile);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.Equal(
            $"error: Cannot read or create the key file {keyFile}: The file '{blocker}' already exists; give --key-file a file path in a folder this user may write, or make the key beforehand with: tokengate key init --key-file {keyFile}.\n",
            result.Error);
        CliAssert.NoStackFrame(result);
    }

    [Fact]
    public async Task Serve_with_a_certificate_that_cannot_be_read_exits_2_naming_the_file()
    {
        var certificate = Path.Combine(_workspace.Directory, "server.pem");
        File.WriteAllText(certificate, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");

        var result = await _workspace.RunAsync("serve", "--urls", "https://127.0.0.1:0", "--certificate", certificate);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.StartsWith($"error: --certificate: cannot load '{certificate}'", result.Error, StringComparison.Ordinal);
        Assert.EndsWith("check the file, its key and its password.\n", result.Error, StringComparison.Ordinal);
        CliAssert.NoStackFrame(result);
    }

    /// <summary>Issue 25, item 5: the database holds password hashes; one others can read is refused as a key file is.</summary>
    [Theory(Timeout = 120_000)]
    [InlineData("")]
    [InlineData("-wal")]
    [InlineData("-shm")]
    [UnsupportedOSPlatform("windows")]
    public async Task Serve_with_a_database_file_others_can_read_exits_2_with_the_chmod_that_fixes_it(string suffix)
    {
        await _workspace.AddAccountAsync("alice", "alice's own password");
        var file = _workspace.DatabasePath + suffix;
        if (!File.Exists(file))
        {
            File.WriteAllBytes(file, []);
        }

        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var (exitCode, output, error) = await RunProcessAsync(null, "serve", "--urls", "http://127.0.0.1:0", "--database", _workspace.DatabasePath);

        Assert.Equal(ExitCodes.BadConfiguration, exitCode);
        Assert.Equal(
            $"error: the database {file} can be read or written by other users (it holds password hashes); make it private with: chmod 600 {file} (or start with --allow-readable-database to serve it anyway).\n",
            error);
        CliAssert.NoStackFrame(output, error);
    }

    [Fact(Timeout = 120_000)]
    [UnsupportedOSPlatform("windows")]
    public async Task Serve_with_allow_readable_database_serves_a_database_others_can_read()
    {
        await _workspace.AddAccountAsync("alice", "alice's own password");
        File.SetUnixFileMode(_workspace.DatabasePath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);

        using var server = TokenGateProcess.Start(
            _workspace.Directory, "serve", "--urls", "http://127.0.0.1:0", "--database", _workspace.DatabasePath, "--allow-readable-database");
        var baseAddress = await server.WaitForListeningAsync(ExitTimeout);
        using var http = LoopbackClient.Create(baseAddress);

        var token = await new TokenApiClient(http).GetTokenAsync("alice", "alice's own password");

        Assert.True(token.Success, token.Error);
        await server.KillAsync();
    }

    /// <summary>The umask narrows what mkdir and open grant; it must not widen or break the owner-only modes TokenGate asks for.</summary>
    [Theory(Timeout = 120_000)]
    [InlineData("000")]
    [InlineData("022")]
    [InlineData("277")]
    [UnsupportedOSPlatform("windows")]
    public async Task Folders_serve_creates_are_0700_and_its_files_0600_whatever_the_umask(string umask)
    {
        var database = Path.Combine(_workspace.Directory, "data", "nested", "tokengate.db");
        var keyFile = Path.Combine(_workspace.Directory, "keys", "sub", "tokengate.key");

        using var server = TokenGateProcess.StartUnderUmask(
            _workspace.Directory, umask, "serve", "--urls", "http://127.0.0.1:0", "--database", database, "--key-file", keyFile);
        await server.WaitForListeningAsync(ExitTimeout);

        const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var folders = new[] { "data", "data/nested", "keys", "keys/sub" }.Select(folder => Path.Combine(_workspace.Directory, folder));
        Assert.All(folders, folder => Assert.Equal((folder, Folder), (folder, File.GetUnixFileMode(folder))));
        Assert.Equal(Private, File.GetUnixFileMode(database));
        Assert.Equal(Private, File.GetUnixFileMode(keyFile));
        await server.KillAsync();
    }

    [Theory]
    [InlineData("account", "list")]
    [InlineData("config", "check")]
    [InlineData("serve", "--urls", "http://127.0.0.1:0")]
    public async Task A_locked_SQLite_database_exits_3_saying_another_process_holds_it(params string[] command)
    {
        await _workspace.RunAsync("account", "list");
        await using (var holder = new SqliteConnection($"Data Source={_workspace.DatabasePath};Pooling=false"))
        {
            await holder.OpenAsync();
            await using (var begin = holder.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE";
                await begin.ExecuteNonQueryAsync();
            }

            var result = await _workspace.RunAsync(command);

            Assert.Equal(ExitCodes.StorageUnavailable, result.ExitCode);
            Assert.Equal(
                $"error: The SQLite database {_workspace.DatabasePath} is unavailable: SQLite Error 5: 'database is locked'; another process holds a lock on it; wait for it to finish, or stop it.\n",
                result.Error);
            CliAssert.NoStackFrame(result);
        }
    }

    /// <summary>Runs tokengate in the workspace directory (where appsettings.json is read) until it exits.</summary>
    private async Task<(int ExitCode, string Output, string Error)> RunProcessAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = TokenGateProcess.Start(_workspace.Directory, environment, args);
        var deadline = DateTime.UtcNow + ExitTimeout;
        while (!process.HasExited)
        {
            Assert.True(DateTime.UtcNow < deadline, $"tokengate {string.Join(' ', args)} did not exit.\nstdout:\n{process.Output}\nstderr:\n{process.Error}");
            await Task.Delay(50);
        }

        // Let the output readers catch up with the last lines.
        await Task.Delay(200);
        return (process.ExitCode, process.Output, process.Error);
    }
}

/// <summary>A PostgreSQL start-up failure, on the shared throwaway cluster.</summary>
[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresStartupFailureTests(PostgresFixture postgres)
{
    [Fact]
    public async Task PostgreSQL_refusing_the_password_exits_3_saying_to_check_it_without_showing_it()
    {
        var (cluster, database, _) = await postgres.CreateDatabaseAsync("wrongpw");
        const string Wrong = "not-the-password";
        var connection = $"postgres://postgres:{Wrong}@127.0.0.1:{cluster.Port}/{database}";

        var result = await CliWorkspace.InvokeAsync(["account", "list", "--database", connection], string.Empty);

        Assert.Equal(ExitCodes.StorageUnavailable, result.ExitCode);
        Assert.Equal(
            $"error: The PostgreSQL database 127.0.0.1:{cluster.Port}/{database} is unavailable: 28P01 password authentication failed for user \"postgres\"; check the user name and password in --database (TOKENGATE_DATABASE).\n",
            result.Error);
        Assert.DoesNotContain(Wrong, result.Output + result.Error, StringComparison.Ordinal);
        CliAssert.NoStackFrame(result);
    }
}
