using TokenGate.Storage.Conformance;
using TokenGate.Testing;

[assembly: AssemblyFixture(typeof(PostgresFixture))]

namespace TokenGate.Storage.Postgres.Tests;

/// <summary>The shared store suite on PostgreSQL, each test on a new database of the run's throwaway cluster.</summary>
public sealed class PostgresStoreConformanceTests(PostgresFixture postgres) : TokenGateStoreSpecification
{
    protected override async Task<ITokenGateStore> CreateStoreAsync()
    {
        var (_, _, connectionString) = await postgres.CreateDatabaseAsync("conformance");
        return await OpenAsync(connectionString);
    }

    protected override async Task<ITokenGateStore?> OpenSecondStoreAsync(ITokenGateStore first) =>
        await OpenAsync(((PostgresTokenGateStore)first).ConnectionString);

    private static async Task<ITokenGateStore> OpenAsync(string connectionString)
    {
        var store = new PostgresTokenGateStore(new PostgresStoreOptions { ConnectionString = connectionString });
        await store.InitializeAsync(Cancel);
        return store;
    }
}
