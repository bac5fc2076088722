using TokenGate.Testing;

namespace TokenGate.Storage.Postgres.Tests;

/// <summary>What the PostgreSQL store promises of the login-attempt tables beyond the shared suite: the upgrade.</summary>
public sealed class PostgresLoginAttemptTests(PostgresFixture postgres)
{
    private const long Now = 1_767_225_600;
    private const int TestTimeout = 120_000;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact(Timeout = TestTimeout)]
    public async Task A_database_at_the_schema_before_the_login_tables_is_migrated_and_keeps_its_data()
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("migrate_login");
        await using (var connection = await cluster.OpenAsync(database))
        {
            Assert.Equal(0, await PostgresSchema.MigrateAsync(connection, Cancel, targetVersion: 5));
            await using var insert = new Npgsql.NpgsqlCommand("INSERT INTO accounts (name, password_hash, created_at) VALUES ('alice', 'hash-of-alice', 0)", connection);
            await insert.ExecuteNonQueryAsync(Cancel);
        }

        await using var store = new PostgresTokenGateStore(new PostgresStoreOptions { ConnectionString = connectionString });
        await store.InitializeAsync(Cancel);
        var counter = AttemptCounter.Pair("digest-of-alice", "192.0.2.7", 2);
        await store.ReserveAttemptAsync([counter], Now, 900, Cancel);
        var second = await store.ReserveAttemptAsync([counter], Now, 900, Cancel);

        Assert.Equal(7, PostgresSchema.LatestVersion);
        Assert.Equal(PostgresSchema.LatestVersion, await cluster.ScalarAsync<int>(database, "SELECT version FROM tokengate_schema"));
        Assert.Equal("hash-of-alice", (await store.FindAccountAsync("alice", Cancel))!.PasswordHash);
        Assert.Equal([1], second.CountsBefore);
        Assert.Equal([0], second.BlocksStarted);
    }
}
