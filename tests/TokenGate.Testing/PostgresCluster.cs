using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace TokenGate.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster for tests: <c>initdb</c> into a new temporary directory, <c>pg_ctl</c> on a free port,
/// listening on 127.0.0.1 only, with a random superuser password (so connection strings carry a secret, as in production).
/// Durability is off (<c>fsync=off</c>): the cluster lives for one test run. When the tests run as root (CI), the cluster is
/// run as the <c>postgres</c> user, since PostgreSQL refuses root. It can be stopped and started again to play an outage.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    /// <summary>A folder holding initdb and pg_ctl, to use instead of searching for them.</summary>
    public const string BinariesVariable = "PG_BIN";

    private const string DirectoryPrefix = "tokengate-pg-";
    private const string Superuser = "postgres";

    private readonly string _binaries;
    private readonly string _root;
    private readonly bool _asPostgresUser;
    private int _databases;

    private PostgresCluster(string binaries, string root, bool asPostgresUser, string password)
    {
        _binaries = binaries;
        _root = root;
        _asPostgresUser = asPostgresUser;
        Password = password;
    }

    public int Port { get; private set; }

    /// <summary>The superuser's password; tests assert that it never shows up in logs or errors.</summary>
    public string Password { get; }

    public string DataDirectory => Path.Combine(_root, "data");

    public string LogFile => Path.Combine(_root, "server.log");

    /// <summary>Where initdb and pg_ctl were found, or null with the places searched.</summary>
    public static string? FindBinaries(out string searched)
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(BinariesVariable) is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }
        else
        {
            if (Directory.Exists("/usr/lib/postgresql"))
            {
                candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql")
                    .OrderByDescending(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0)
                    .Select(d => Path.Combine(d, "bin")));
            }

            candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        }

        searched = Environment.GetEnvironmentVariable(BinariesVariable) is { Length: > 0 }
            ? $"{BinariesVariable}={candidates[0]}"
            : "/usr/lib/postgresql/*/bin and PATH";
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
    }

    /// <summary>Creates and starts a cluster. Throws <see cref="PostgresMissingException"/> when PostgreSQL is not installed.</summary>
    public static async Task<PostgresCluster> StartAsync()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PostgresMissingException("the PostgreSQL test cluster is run with initdb/pg_ctl as on Debian; not on Windows.");
        }

        var binaries = FindBinaries(out var searched)
            ?? throw new PostgresMissingException($"PostgreSQL is not installed: no initdb and pg_ctl in {searched}. Install it (Debian: apt-get install postgresql).");
        var asPostgresUser = Environment.UserName == "root";
        if (asPostgresUser && !File.ReadLines("/etc/passwd").Any(line => line.StartsWith(Superuser + ":", StringComparison.Ordinal)))
        {
            throw new PostgresMissingException("the tests run as root, and PostgreSQL refuses root: a 'postgres' user is needed to run it (Debian's postgresql package creates one).");
        }

        await RemoveOrphansAsync(binaries, asPostgresUser);
        var root = Directory.CreateTempSubdirectory(DirectoryPrefix).FullName;
        await File.WriteAllTextAsync(Path.Combine(root, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var cluster = new PostgresCluster(binaries, root, asPostgresUser, RandomNumberGenerator.GetHexString(24, lowercase: true));
        try
        {
            await cluster.CreateAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A key=value connection string for <paramref name="database"/>, as an operator would give <c>--database</c>.</summary>
    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username={Superuser};Password={Password};Database={database}";

    /// <summary>The same as a <c>postgres://</c> URI.</summary>
    public string ConnectionUri(string database) => $"postgres://{Superuser}:{Password}@127.0.0.1:{Port}/{database}";

    /// <summary>Creates a new empty database and returns its name.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "test")
    {
        var name = $"{prefix}_{Interlocked.Increment(ref _databases)}_{RandomNumberGenerator.GetHexString(6, lowercase: true)}".ToLowerInvariant();
        await ExecuteAsync("postgres", $"CREATE DATABASE \"{name}\"");
        return name;
    }

    /// <summary>Runs SQL on <paramref name="database"/> as the superuser, on a connection of its own (not pooled).</summary>
    public async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = await OpenAsync(database);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string database, string sql)
    {
        await using var connection = await OpenAsync(database);
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async Task<NpgsqlConnection> OpenAsync(string database)
    {
        var connection = new NpgsqlConnection(ConnectionString(database) + ";Pooling=false;Timeout=5");
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Stops the server (fast: sessions are ended with 57P01, as in a real shutdown), keeping its data.</summary>
    public Task StopAsync() => PgCtlAsync("stop", "-m", "fast", "-w", "-t", "60");

    /// <summary>Starts the server again on the same port with the same data.</summary>
    public Task StartAgainAsync() => PgCtlAsync("start", "-w", "-t", "60", "-l", LogFile);

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await PgCtlAsync("stop", "-m", "immediate", "-w", "-t", "30");
            }
            catch (InvalidOperationException)
            {
                // Not running.
            }
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task CreateAsync()
    {
        var passwordFile = Path.Combine(_root, "password");
        await File.WriteAllTextAsync(passwordFile, Password + "\n");
        if (_asPostgresUser)
        {
            await RunAsync("chown", ["-R", $"{Superuser}:{Superuser}", _root], asPostgresUser: false);
        }

        await RunAsync(
            Path.Combine(_binaries, "initdb"),
            ["-D", DataDirectory, "-U", Superuser, "--pwfile", passwordFile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
            _asPostgresUser);
        File.Delete(passwordFile);

        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort();
            await File.AppendAllTextAsync(
                Path.Combine(DataDirectory, "postgresql.auto.conf"),
                $"""

                port = {Port}
                listen_addresses = '127.0.0.1'
                unix_socket_directories = '{_root}'
                max_connections = 300
                fsync = off
                synchronous_commit = off
                full_page_writes = off
                """);
            try
            {
                await StartAgainAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Most likely another process took the port in between: try another.
            }
        }
    }

    private Task PgCtlAsync(params string[] args) => RunAsync(Path.Combine(_binaries, "pg_ctl"), ["-D", DataDirectory, .. args], _asPostgresUser);

    private static async Task RunAsync(string file, string[] args, bool asPostgresUser)
    {
        var start = new ProcessStartInfo(asPostgresUser ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgresUser)
        {
            foreach (var arg in new[] { "-u", Superuser, "--", file })
            {
                start.ArgumentList.Add(arg);
            }
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} failed ({process.ExitCode}):\n{await output}\n{await error}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Clusters left behind by a test run that was killed: stopped and deleted.</summary>
    private static async Task RemoveOrphansAsync(string binaries, bool asPostgresUser)
    {
        foreach (var directory in Directory.GetDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            var owner = Path.Combine(directory, "owner.pid");
            if (!File.Exists(owner)
                || !int.TryParse(await File.ReadAllTextAsync(owner), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || IsAlive(pid))
            {
                continue;
            }

            if (File.Exists(Path.Combine(directory, "data", "postmaster.pid")))
            {
                try
                {
                    await RunAsync(Path.Combine(binaries, "pg_ctl"), ["-D", Path.Combine(directory, "data"), "stop", "-m", "immediate", "-w"], asPostgresUser);
                }
                catch (InvalidOperationException)
                {
                }
            }

            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

/// <summary>PostgreSQL is not installed where the tests can run it.</summary>
public sealed class PostgresMissingException(string message) : Exception(message);
