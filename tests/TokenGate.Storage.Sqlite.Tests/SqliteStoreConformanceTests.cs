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

    public void Dispose() => _directory.Dispose();
}
