using TokenGate.Storage.Conformance;
using TokenGate.Testing;

namespace TokenGate.Storage.Sqlite.Tests;

/// <summary>The shared store suite, each test on a new database file.</summary>
public sealed class SqliteStoreConformanceTests : TokenGateStoreSpecification, IDisposable
{
    private readonly TempDirectory _directory = new("tokengate-sqlite");
    private int _databases;

    protected override async Task<ITokenGateStore> CreateStoreAsync()
    {
        var path = _directory.File($"store-{Interlocked.Increment(ref _databases)}.db");
        var store = new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = path });
        await store.InitializeAsync(Cancel);
        return store;
    }

    protected override async Task<ITokenGateStore?> OpenSecondStoreAsync(ITokenGateStore first)
    {
        var store = new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = ((SqliteTokenGateStore)first).DatabasePath });
        await store.InitializeAsync(Cancel);
        return store;
    }

    protected override async Task<ITokenGateStore?> UpgradeFromBeforeTagsAsync(IReadOnlyList<(byte[] Digest, long ExpiresAt)> tokens)
    {
        var path = _directory.File($"before-tags-{Interlocked.Increment(ref _databases)}.db");
        using (var connection = SqliteFiles.Open(path))
        {
            SqliteSchema.Migrate(connection, targetVersion: SqliteSchema.TaggedTokensVersion - 1);
            SqliteFiles.Execute(connection, "INSERT INTO accounts (name, password_hash, created_at) VALUES ('legacy', 'hash-of-legacy', 0)");
            foreach (var (digest, expiresAt) in tokens)
            {
                SqliteFiles.Execute(
                    connection,
                    "INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at) VALUES ($digest, 1, '10.0.0.1', x'00', 0, $expires)",
                    ("$digest", digest),
                    ("$expires", expiresAt));
            }
        }

        var store = new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = path });
        await store.InitializeAsync(Cancel);
        return store;
    }

    protected override async Task<ITokenGateStore?> UpgradeFromBeforeOperatorsAsync()
    {
        var path = _directory.File($"before-operators-{Interlocked.Increment(ref _databases)}.db");
        using (var connection = SqliteFiles.Open(path))
        {
            SqliteSchema.Migrate(connection, targetVersion: 10);
            SqliteFiles.Execute(connection, "INSERT INTO accounts (name, password_hash, created_at) VALUES ('legacy', 'hash-of-legacy', 7)");
            SqliteFiles.Execute(
                connection,
                "INSERT INTO audit (at, account, client, action, outcome, token_id) VALUES ($at - 2, 'legacy', '10.0.0.1', 'get', 'issued', '0011223344556677'), ($at - 1, 'legacy', 'cli', 'account.disable', 'done', NULL)",
                ("$at", Now));
        }

        var store = new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = path });
        await store.InitializeAsync(Cancel);
        return store;
    }

    public void Dispose() => _directory.Dispose();
}
