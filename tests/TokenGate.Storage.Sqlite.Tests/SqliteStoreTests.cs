using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using TokenGate.Testing;

namespace TokenGate.Storage.Sqlite.Tests;

/// <summary>What the SQLite store promises beyond the shared suite: the file, its schema versions, locks and group commit.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    private const long Now = 1_767_225_600;

    private const int TestTimeout = 60_000;

    private readonly TempDirectory _directory = new("tokengate-sqlite");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    /// <summary>The detail column of EXPLAIN QUERY PLAN (parameters bound to NULL), or another query's first column.</summary>
    private static List<string> QueryPlan(SqliteConnection connection, string sql, int column = 3)
    {
        using var command = connection.CreateCommand();
        command.CommandText = column == 3 ? "EXPLAIN QUERY PLAN " + sql : sql;
        foreach (System.Text.RegularExpressions.Match name in System.Text.RegularExpressions.Regex.Matches(sql, @"\$\w+"))
        {
            if (!command.Parameters.Contains(name.Value))
            {
                command.Parameters.AddWithValue(name.Value, DBNull.Value);
            }
        }

        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(column));
        }

        return rows;
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_new_file_is_created_in_a_missing_directory_with_the_latest_schema_in_wal_mode()
    {
        var path = Path.Combine(_directory.Path, "missing", "nested", "tokengate.db");

        await using (var store = await OpenAsync(path))
        {
            Assert.True(await store.CreateAccountAsync("alice", "hash-of-alice", Now, Cancel));
        }

        using var connection = SqliteFiles.Open(path);
        Assert.Equal((long)SqliteSchema.LatestVersion, SqliteFiles.Scalar(connection, "PRAGMA user_version"));
        Assert.Equal("wal", SqliteFiles.Scalar(connection, "PRAGMA journal_mode"));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_per_account_count_and_the_sweep_search_an_index_and_an_issue_writes_only_the_table_and_its_two_indexes()
    {
        var path = _directory.File("plan.db");
        await using (await OpenAsync(path))
        {
        }

        using var connection = SqliteFiles.Open(path);
        string Plan(string sql) => string.Join("\n", QueryPlan(connection, sql));

        Assert.Contains("USING COVERING INDEX tokens_by_address_set (account_id=?)", Plan(ActiveTokenCounts.CountSql), StringComparison.Ordinal);
        Assert.Contains("USING COVERING INDEX tokens_by_expiry (expires_at<?)", Plan("SELECT digest FROM tokens WHERE expires_at <= $cutoff LIMIT $batch"), StringComparison.Ordinal);
        Assert.Equal(
            ["tokens_by_address_set", "tokens_by_expiry"],
            QueryPlan(connection, "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'tokens' AND sql IS NOT NULL ORDER BY name", column: 0));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task An_audit_search_reads_the_index_of_its_filter_and_an_issued_tokens_entry_writes_four_of_the_six()
    {
        var path = _directory.File("audit-plan.db");
        await using (await OpenAsync(path))
        {
        }

        using var connection = SqliteFiles.Open(path);
        string Plan(AuditQuery query) => string.Join("\n", QueryPlan(connection, SqliteTokenGateStore.SearchSql(query)));

        Assert.Contains("USING INDEX audit_by_action (action=?)", Plan(new AuditQuery(Action: AuditActions.AccountRemove)), StringComparison.Ordinal);
        Assert.Contains("USING INDEX audit_by_outcome (outcome=?)", Plan(new AuditQuery(Outcome: AuditActions.RateLimited)), StringComparison.Ordinal);
        Assert.Contains("USING INDEX audit_by_account_id (account=?)", Plan(new AuditQuery(Account: "alice", Outcome: AuditActions.Issued)), StringComparison.Ordinal);
        Assert.Contains("USING INDEX audit_by_client (client=?)", Plan(new AuditQuery(Client: "10.0.0.1")), StringComparison.Ordinal);
        Assert.Contains("USING INDEX audit_by_time (at>? AND at<?)", Plan(new AuditQuery(From: Now - 3600, To: Now)), StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", Plan(new AuditQuery(From: Now - 3600, To: Now, BeforeId: 10)), StringComparison.Ordinal);

        // The routine get and issued are in neither partial index: an issued token's entry writes the table, the time index and
        // the account's and the client's.
        Assert.Equal(
            [
                "audit_by_account_id|",
                "audit_by_action|WHERE action <> 'get'",
                "audit_by_client|",
                "audit_by_outcome|WHERE outcome <> 'issued'",
                "audit_by_time|",
            ],
            QueryPlan(
                connection,
                "SELECT name || '|' || CASE WHEN instr(sql, ' WHERE ') > 0 THEN substr(sql, instr(sql, ' WHERE ') + 1) ELSE '' END FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'audit' AND sql IS NOT NULL ORDER BY name",
                column: 0));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task An_older_schema_is_migrated_in_place_and_its_data_stays_usable()
    {
        var path = _directory.File("v1.db");
        var digest = SHA256.HashData(RandomNumberGenerator.GetBytes(20));
        var sealedToken = RandomNumberGenerator.GetBytes(64);
        long accountId;
        using (var connection = SqliteFiles.Open(path))
        {
            SqliteSchema.Migrate(connection, targetVersion: 1);
            SqliteFiles.Execute(connection, "INSERT INTO accounts (name, password_hash, created_at) VALUES ('alice', 'hash-of-alice', $now)", ("$now", Now - 10));
            accountId = (long)SqliteFiles.Scalar(connection, "SELECT last_insert_rowid()")!;
            SqliteFiles.Execute(
                connection,
                "INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at) VALUES ($digest, $account, '10.0.0.1', $sealed, $now, $expires)",
                ("$digest", digest), ("$account", accountId), ("$sealed", sealedToken), ("$now", Now - 5), ("$expires", Now + 100));
            Assert.Equal(1, SqliteSchema.ReadVersion(connection));
        }

        await using var store = await OpenAsync(path);

        Assert.Equal(SqliteSchema.LatestVersion, SqliteFiles.UserVersion(path));
        var account = await store.FindAccountAsync("alice", Cancel);
        Assert.Equal(new Accounts.AccountRecord(accountId, "alice", "hash-of-alice", true, 0, Now - 10), account);
        var token = await store.FindTokenAsync(digest, Cancel);
        Assert.Equal((accountId, "alice", "10.0.0.1", Now - 5, Now + 100), (token!.AccountId, token.AccountName, token.AddressKey, token.IssuedAt, token.ExpiresAt));
        var again = await store.GetOrAddTokenAsync(
            new TokenIssueRequest(accountId, account!.CredentialStamp, "10.0.0.1", SHA256.HashData(RandomNumberGenerator.GetBytes(20)), RandomNumberGenerator.GetBytes(64), Now, Now + 43_200, 10),
            Cancel);
        Assert.Equal(TokenIssueStatus.Existing, again.Status);
        Assert.Equal(digest, again.Digest);
        Assert.Equal(sealedToken, again.SealedToken);
        Assert.Equal(Now + 100, again.ExpiresAt);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_file_with_a_newer_schema_is_refused_and_left_unchanged()
    {
        var path = _directory.File("future.db");
        await using (var store = await OpenAsync(path))
        {
            await store.CreateAccountAsync("alice", "hash-of-alice", Now, Cancel);
        }

        using (var connection = SqliteFiles.Open(path))
        {
            SqliteFiles.Execute(connection, $"PRAGMA user_version = {SqliteSchema.LatestVersion + 1}");
        }

        var before = await File.ReadAllBytesAsync(path, Cancel);

        var newer = new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = path });
        await Assert.ThrowsAsync<StorageSchemaException>(() => newer.InitializeAsync(Cancel).AsTask());
        await newer.DisposeAsync();

        Assert.Equal(before, await File.ReadAllBytesAsync(path, Cancel));
        Assert.Equal(SqliteSchema.LatestVersion + 1, SqliteFiles.UserVersion(path));
        Assert.Equal(["alice"], SqliteFiles.AccountNames(path));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Stores_initializing_one_new_file_at_the_same_time_all_succeed()
    {
        for (var round = 0; round < 10; round++)
        {
            var path = _directory.File($"shared-{round}.db");
            var stores = Enumerable.Range(0, 4).Select(_ => new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = path })).ToList();
            try
            {
                await Task.WhenAll(stores.Select(store => Task.Run(() => store.InitializeAsync(Cancel).AsTask(), Cancel)));

                var created = await Task.WhenAll(stores.Select((store, i) => store.CreateAccountAsync($"user-{i}", "hash", Now, Cancel).AsTask()));
                Assert.All(created, Assert.True);
                Assert.Equal(4, (await stores[0].ListAccountsAsync(Now, Cancel)).Count);
                Assert.Equal(SqliteSchema.LatestVersion, SqliteFiles.UserVersion(path));
            }
            finally
            {
                foreach (var store in stores)
                {
                    await store.DisposeAsync();
                }
            }
        }
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Written_data_is_there_after_the_store_is_closed_and_opened_again()
    {
        var path = _directory.File("durable.db");
        var digest = SHA256.HashData(RandomNumberGenerator.GetBytes(20));
        var sealedToken = RandomNumberGenerator.GetBytes(64);
        await using (var store = await OpenAsync(path))
        {
            await store.CreateAccountAsync("alice", "hash-of-alice", Now, Cancel);
            await store.CreateAccountAsync("bob", "hash-of-bob", Now, Cancel);
            var alice = await store.FindAccountAsync("alice", Cancel);
            await store.GetOrAddTokenAsync(new TokenIssueRequest(alice!.Id, alice.CredentialStamp, "10.0.0.1", digest, sealedToken, Now, Now + 100, 10), Cancel);
            await store.SetAccountEnabledAsync("bob", enabled: false, Cancel);
        }

        await using var reopened = await OpenAsync(path);

        var account = await reopened.FindAccountAsync("alice", Cancel);
        Assert.Equal("hash-of-alice", account!.PasswordHash);
        Assert.False((await reopened.FindAccountAsync("bob", Cancel))!.Enabled);
        Assert.Equal(Now + 100, (await reopened.FindTokenAsync(digest, Cancel))!.ExpiresAt);
        var existing = await reopened.GetOrAddTokenAsync(
            new TokenIssueRequest(account.Id, account.CredentialStamp, "10.0.0.1", SHA256.HashData(RandomNumberGenerator.GetBytes(20)), RandomNumberGenerator.GetBytes(64), Now, Now + 100, 10),
            Cancel);
        Assert.Equal(sealedToken, existing.SealedToken);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_write_lock_held_by_another_process_makes_writes_unavailable_promptly_while_reads_go_on()
    {
        var path = _directory.File("locked.db");
        await using var store = await OpenAsync(new SqliteStoreOptions { DatabasePath = path, BusyTimeout = TimeSpan.FromSeconds(1) });
        await store.CreateAccountAsync("alice", "hash-of-alice", Now, Cancel);
        var alice = await store.FindAccountAsync("alice", Cancel);
        var digest = SHA256.HashData(RandomNumberGenerator.GetBytes(20));
        await store.GetOrAddTokenAsync(new TokenIssueRequest(alice!.Id, alice.CredentialStamp, "10.0.0.1", digest, RandomNumberGenerator.GetBytes(64), Now, Now + 100, 10), Cancel);

        using var holder = SqliteFiles.Open(path);
        SqliteFiles.Execute(holder, "BEGIN IMMEDIATE");
        var clock = Stopwatch.StartNew();
        var write = store.CreateAccountAsync("bob", "hash-of-bob", Now, Cancel).AsTask();
        var finished = await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(30), Cancel));

        Assert.Same(write, finished);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => write);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(10));
        Assert.NotNull(await store.FindAccountAsync("alice", Cancel));
        Assert.NotNull(await store.FindTokenAsync(digest, Cancel));

        SqliteFiles.Execute(holder, "ROLLBACK");

        Assert.True(await store.CreateAccountAsync("bob", "hash-of-bob", Now, Cancel));
        Assert.True(await store.DeleteTokenAsync(digest, Cancel));
        Assert.Equal(["alice", "bob"], SqliteFiles.AccountNames(path));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Many_writes_queued_at_once_are_committed_each_with_its_own_result()
    {
        var path = _directory.File("batch.db");
        await using var store = await OpenAsync(path);
        await store.CreateAccountAsync("owner", "hash-of-owner", Now, Cancel);
        var owner = await store.FindAccountAsync("owner", Cancel);
        var taken = SHA256.HashData(RandomNumberGenerator.GetBytes(20));
        await store.GetOrAddTokenAsync(new TokenIssueRequest(owner!.Id, owner.CredentialStamp, "10.0.0.1", taken, [1], Now, Now + 100, 1_000), Cancel);
        var names = Enumerable.Range(0, 500).Select(i => $"user-{i:D3}").ToList();
        var attempts = names.Concat(names.Take(50)).ToList();

        // Hundreds of writes queued together, among them 50 duplicate names (false) and one that throws (a digest that is taken).
        var creates = attempts.Select(name => Task.Run(() => store.CreateAccountAsync(name, $"hash-of-{name}", Now, Cancel).AsTask(), Cancel)).ToList();
        var clash = Task.Run(
            () => store.GetOrAddTokenAsync(new TokenIssueRequest(owner.Id, owner.CredentialStamp, "10.0.0.2", taken, [2], Now, Now + 100, 1_000, AlwaysAdd: true), Cancel).AsTask(),
            Cancel);
        var results = await Task.WhenAll(creates);

        await Assert.ThrowsAsync<SqliteException>(() => clash);
        Assert.All(attempts.Zip(results).GroupBy(attempt => attempt.First), group => Assert.Single(group, attempt => attempt.Second));
        Assert.Equal(500, results.Count(created => created));
        foreach (var name in names)
        {
            Assert.Equal($"hash-of-{name}", (await store.FindAccountAsync(name, Cancel))!.PasswordHash);
        }

        Assert.Equal(names.Prepend("owner"), (await store.ListAccountsAsync(Now, Cancel)).Select(a => a.Name));
        Assert.Equal("10.0.0.1", (await store.FindTokenAsync(taken, Cancel))!.AddressKey);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task An_issue_whose_audit_entry_fails_stores_no_token_and_the_writes_beside_it_stand()
    {
        var path = _directory.File("audit-fails.db");
        await using var store = await OpenAsync(path);
        await store.CreateAccountAsync("owner", "hash-of-owner", Now, Cancel);
        var owner = (await store.FindAccountAsync("owner", Cancel))!;
        using (var connection = SqliteFiles.Open(path))
        {
            // An audit entry from one client cannot be written (a constraint error, not an outage).
            using var trigger = connection.CreateCommand();
            trigger.CommandText = "CREATE TRIGGER refuse_client BEFORE INSERT ON audit WHEN NEW.client = '192.0.2.66' BEGIN SELECT RAISE(ABORT, 'refused'); END";
            trigger.ExecuteNonQuery();
        }

        TokenIssueRequest Request(int i, string client) =>
            new(owner.Id, owner.CredentialStamp, $"10.0.4.{i}", SHA256.HashData(RandomNumberGenerator.GetBytes(20)), [1], Now, Now + 100, 1_000)
            {
                Audit = new IssueAudit("owner", client, AuditActions.Get),
            };
        var refused = Request(0, "192.0.2.66");
        var others = Enumerable.Range(1, 40).Select(i => Request(i, "192.0.2.1")).ToList();

        // Queued together, so that most share the refused one's transaction.
        var failing = Task.Run(() => store.GetOrAddTokenAsync(refused, Cancel).AsTask(), Cancel);
        var results = await Task.WhenAll(others.Select(r => Task.Run(() => store.GetOrAddTokenAsync(r, Cancel).AsTask(), Cancel)));

        await Assert.ThrowsAsync<SqliteException>(() => failing);
        Assert.Null(await store.FindTokenAsync(refused.Digest, Cancel));
        Assert.All(results, r => Assert.Equal(TokenIssueStatus.Added, r.Status));
        Assert.Equal(40, (await store.ListTokensAsync("owner", 100, Cancel)).Count);
        var entries = await store.ListAuditAsync("owner", 0, 100, Cancel);
        Assert.Equal(others.Select(r => Tokens.TokenValue.IdOf(r.Digest)).Order(), entries.Select(e => e.TokenId).Order());
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Under_sustained_writes_the_wal_is_checkpointed_in_the_background_and_stays_bounded()
    {
        var path = _directory.File("wal.db");
        await using var store = await OpenAsync(new SqliteStoreOptions { DatabasePath = path, WalFramesPerCheckpoint = 4_000 });
        await store.CreateAccountAsync("writer", "hash", 0, Cancel);
        var account = (await store.FindAccountAsync("writer", Cancel))!;

        // About 30,000 pages' worth of writes: with no checkpoint at all the WAL would pass 100 MB.
        var largest = 0L;
        for (var round = 0; round < 60; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 500).Select(i => store.GetOrAddTokenAsync(
                new TokenIssueRequest(account.Id, account.CredentialStamp, $"10.{round}.{i / 256}.{i % 256}", System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), new byte[400], 1, 100_000, 10_000_000),
                Cancel).AsTask()));
            largest = Math.Max(largest, new FileInfo(path + "-wal").Length);
            await Task.Delay(20, Cancel);
        }

        await Task.Delay(TimeSpan.FromSeconds(2), Cancel);
        var settled = new FileInfo(path + "-wal").Length;
        Assert.Equal(30_000, (await store.ListTokensAsync("writer", 100_000, Cancel)).Count);
        Assert.True(largest < 64L * 1024 * 1024, $"The WAL grew to {largest / 1024 / 1024} MB.");
        Assert.True(settled <= largest, $"{settled} > {largest}");
    }

    private static Task<SqliteTokenGateStore> OpenAsync(string path) => OpenAsync(new SqliteStoreOptions { DatabasePath = path });

    private static async Task<SqliteTokenGateStore> OpenAsync(SqliteStoreOptions options)
    {
        var store = new SqliteTokenGateStore(options);
        await store.InitializeAsync(Cancel);
        return store;
    }
}
