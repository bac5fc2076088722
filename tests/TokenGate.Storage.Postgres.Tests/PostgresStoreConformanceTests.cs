using Npgsql;
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

    protected override async Task<ITokenGateStore?> UpgradeFromBeforeTagsAsync(IReadOnlyList<(byte[] Digest, long ExpiresAt)> tokens)
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("before_tags");
        await using (var connection = await cluster.OpenAsync(database))
        {
            await PostgresSchema.MigrateAsync(connection, Cancel, targetVersion: PostgresSchema.TaggedTokensVersion - 1);
            await using var account = new NpgsqlCommand("INSERT INTO accounts (name, password_hash, created_at) VALUES ('legacy', 'hash-of-legacy', 0)", connection);
            await account.ExecuteNonQueryAsync(Cancel);
            foreach (var (digest, expiresAt) in tokens)
            {
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at) SELECT $1, id, '10.0.0.1', '\\x00', 0, $2 FROM accounts WHERE name = 'legacy'",
                    connection);
                insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = digest });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expiresAt });
                await insert.ExecuteNonQueryAsync(Cancel);
            }
        }

        return await OpenAsync(connectionString);
    }

    protected override async Task<ITokenGateStore?> UpgradeFromBeforeOperatorsAsync()
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("before_operators");
        await using (var connection = await cluster.OpenAsync(database))
        {
            await PostgresSchema.MigrateAsync(connection, Cancel, targetVersion: 11);
            await using var insert = new NpgsqlCommand(
                $"""
                INSERT INTO accounts (name, password_hash, created_at) VALUES ('legacy', 'hash-of-legacy', 7);
                INSERT INTO audit (at, account, client, action, outcome, token_id)
                VALUES ({Now - 2}, 'legacy', '10.0.0.1', 'get', 'issued', '0011223344556677'), ({Now - 1}, 'legacy', 'cli', 'account.disable', 'done', NULL);
                """,
                connection);
            await insert.ExecuteNonQueryAsync(Cancel);
        }

        return await OpenAsync(connectionString);
    }

    private static async Task<ITokenGateStore> OpenAsync(string connectionString)
    {
        var store = new PostgresTokenGateStore(new PostgresStoreOptions { ConnectionString = connectionString });
        await store.InitializeAsync(Cancel);
        return store;
    }
}
