using TokenGate.Testing;

namespace TokenGate.Storage.Sqlite.Tests;

/// <summary>What the SQLite store promises of the login-attempt tables beyond the shared suite: the upgrade and the purge's index.</summary>
public sealed class SqliteLoginAttemptTests : IDisposable
{
    private const long Now = 1_767_225_600;

    private const int TestTimeout = 60_000;

    private readonly TempDirectory _directory = new("tokengate-sqlite");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact(Timeout = TestTimeout)]
    public async Task A_file_at_the_schema_before_the_login_tables_is_migrated_and_keeps_its_data()
    {
        var path = _directory.File("v6.db");
        using (var connection = SqliteFiles.Open(path))
        {
            SqliteSchema.Migrate(connection, targetVersion: 6);
            SqliteFiles.Execute(connection, "INSERT INTO accounts (name, password_hash, created_at) VALUES ('alice', 'hash-of-alice', $now)", ("$now", Now));
        }

        await using var store = new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = path });
        await store.InitializeAsync(Cancel);
        var counter = AttemptCounter.Pair("digest-of-alice", "192.0.2.7", 2);
        await store.ReserveAttemptAsync([counter], Now, 900, Cancel);
        var second = await store.ReserveAttemptAsync([counter], Now, 900, Cancel);

        Assert.True(SqliteSchema.LatestVersion >= 8);
        Assert.Equal(SqliteSchema.LatestVersion, SqliteFiles.UserVersion(path));
        Assert.Equal("hash-of-alice", (await store.FindAccountAsync("alice", Cancel))!.PasswordHash);
        Assert.Equal([1], second.CountsBefore);
        Assert.Equal([0], second.BlocksStarted);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_purge_and_the_list_search_the_time_indexes()
    {
        var path = _directory.File("plan.db");
        await using (var store = new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = path }))
        {
            await store.InitializeAsync(Cancel);
        }

        using var connection = SqliteFiles.Open(path);
        string Plan(string sql)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN " + sql;
            command.Parameters.AddWithValue("$before", Now);
            command.Parameters.AddWithValue("$batch", 10);
            using var reader = command.ExecuteReader();
            var rows = new List<string>();
            while (reader.Read())
            {
                rows.Add(reader.GetString(3));
            }

            return string.Join("\n", rows);
        }

        Assert.Contains("login_attempts_by_time (last_at<?)", Plan("SELECT scope, username, client FROM login_attempts WHERE last_at < $before LIMIT $batch"), StringComparison.Ordinal);
        Assert.Contains("login_familiar_by_time (last_success<?)", Plan("SELECT username, client FROM login_familiar WHERE last_success < $before LIMIT $batch"), StringComparison.Ordinal);
    }
}
