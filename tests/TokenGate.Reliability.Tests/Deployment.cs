using System.Globalization;
using TokenGate.Accounts;
using TokenGate.Security;
using TokenGate.Server.Hosting;
using TokenGate.Server.Security;
using TokenGate.Storage;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.Reliability.Tests;

/// <summary>A started <c>tokengate serve</c> process and where it listens.</summary>
public sealed record Served(TokenGateProcess Process, Uri BaseAddress);

/// <summary>
/// One test's TokenGate deployment: a working directory with the key file, the database (a SQLite file in that directory or a
/// PostgreSQL database), the settings every instance gets, and the <c>tokengate serve</c> processes started on it (killed, if
/// still running, on dispose). Accounts are created the way <c>tokengate account add</c> creates them, through
/// <see cref="AccountService"/> on the same store.
/// </summary>
public sealed class Deployment : IAsyncDisposable
{
    /// <summary>PBKDF2 iterations of the test accounts and the servers: real hashing, cheap enough for many logins.</summary>
    public const int HashIterations = IdentityPasswordHasher.MinimumIterations;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly TempDirectory? _ownedDirectory;
    private readonly Dictionary<string, string> _settings;
    private readonly List<TokenGateProcess> _processes = [];

    private Deployment(TempDirectory? ownedDirectory, string directory, string database, IReadOnlyDictionary<string, string>? settings)
    {
        _ownedDirectory = ownedDirectory;
        Directory = directory;
        Database = database;
        KeyFile = Path.Combine(directory, "tokengate.key");
        _settings = new Dictionary<string, string>
        {
            ["TOKENGATE_PASSWORD_HASH_ITERATIONS"] = HashIterations.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            _settings[name] = value;
        }
    }

    /// <summary>The working directory of the processes; holds the key file (and the SQLite file).</summary>
    public string Directory { get; }

    /// <summary>The SQLite file's path, or the PostgreSQL connection string.</summary>
    public string Database { get; }

    public string KeyFile { get; }

    /// <summary>A deployment on a SQLite file, in a new temporary directory or in <paramref name="directory"/> (a test's mount).</summary>
    public static Deployment Sqlite(IReadOnlyDictionary<string, string>? settings = null, string? directory = null)
    {
        var owned = directory is null ? new TempDirectory("tokengate-reliability") : null;
        var root = directory ?? owned!.Path;
        return new Deployment(owned, root, Path.Combine(root, "tokengate.db"), settings);
    }

    /// <summary>A deployment on a new database of the run's PostgreSQL cluster; every instance shares one key file.</summary>
    public static async Task<(Deployment Deployment, PostgresCluster Cluster)> PostgresAsync(PostgresFixture fixture, IReadOnlyDictionary<string, string>? settings = null)
    {
        var (cluster, _, connectionString) = await fixture.CreateDatabaseAsync("reliability");
        var owned = new TempDirectory("tokengate-reliability");
        var deployment = new Deployment(owned, owned.Path, connectionString, settings);
        SealingKey.LoadOrCreate(deployment.KeyFile);
        return (deployment, cluster);
    }

    /// <summary>Creates the accounts, as <c>tokengate account add NAME --password P</c> does.</summary>
    public async Task AddAccountsAsync(IEnumerable<(string Name, string Password)> accounts)
    {
        await using var store = TokenGateStores.Create(Database);
        await store.InitializeAsync(CancellationToken.None);
        var service = new AccountService(store, new IdentityPasswordHasher(HashIterations), new PasswordPolicy(), new TokenPolicyOptions(), TimeProvider.System);
        foreach (var (name, password) in accounts)
        {
            var change = await service.CreateAsync(name, password, CancellationToken.None);
            Assert.True(change.Status == AccountChangeStatus.Done, $"Could not create the account {name}: {change.Status}");
        }
    }

    /// <summary>The token id of every <c>issued</c> entry of the audit trail, read from the database (the servers stopped).</summary>
    public async Task<IReadOnlyList<string?>> IssuedTokenIdsAsync()
    {
        await using var store = TokenGateStores.Create(Database);
        await store.InitializeAsync(CancellationToken.None);
        var entries = await store.SearchAuditAsync(new AuditQuery(Outcome: AuditActions.Issued, Limit: int.MaxValue), CancellationToken.None);
        return [.. entries.Select(record => record.Entry.TokenId)];
    }

    /// <summary>Starts <c>tokengate serve</c> on a free loopback port and waits until it listens.</summary>
    public async Task<Served> StartAsync(params string[] arguments)
    {
        string[] args = ["serve", "--urls", "http://127.0.0.1:0", "--database", Database, "--key-file", KeyFile, .. arguments];
        var process = TokenGateProcess.Start(Directory, _settings, args);
        lock (_processes)
        {
            _processes.Add(process);
        }

        return new Served(process, await process.WaitForListeningAsync(StartTimeout));
    }

    /// <summary>Everything every process of this deployment wrote (standard output and error), for failure messages.</summary>
    public string Logs()
    {
        lock (_processes)
        {
            return string.Join("\n---\n", _processes.Select((p, i) => $"process {i + 1} (pid {p.Id}):\n{p.Output}{p.Error}"));
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (_processes)
        {
            foreach (var process in _processes)
            {
                process.Dispose();
            }
        }

        _ownedDirectory?.Dispose();
        return ValueTask.CompletedTask;
    }
}
