using System.Diagnostics;
using System.Security.Cryptography;
using Npgsql;
using TokenGate.Accounts;
using TokenGate.Testing;

namespace TokenGate.Storage.Postgres.Tests;

/// <summary>What the PostgreSQL store promises beyond the shared suite: its schema versions, several instances on one database,
/// the revocation listener, the maintenance lock, and faults reported as unavailability.</summary>
public sealed class PostgresStoreTests(PostgresFixture postgres)
{
    private const long Now = 1_767_225_600;
    private const int TestTimeout = 120_000;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact(Timeout = TestTimeout)]
    public async Task Stores_initializing_one_new_database_at_the_same_time_all_succeed()
    {
        var cluster = await postgres.GetClusterAsync();
        for (var round = 0; round < 5; round++)
        {
            var database = await cluster.CreateDatabaseAsync("concurrent_init");
            var stores = Enumerable.Range(0, 6).Select(_ => New(cluster.ConnectionString(database))).ToList();
            try
            {
                await Task.WhenAll(stores.Select(store => Task.Run(() => store.InitializeAsync(Cancel).AsTask(), Cancel)));

                var created = await Task.WhenAll(stores.Select((store, i) => store.CreateAccountAsync($"user-{i}", "hash", Now, Cancel).AsTask()));
                Assert.All(created, Assert.True);
                Assert.Equal(6, (await stores[0].ListAccountsAsync(Now, Cancel)).Count);
                Assert.Equal(PostgresSchema.LatestVersion, await cluster.ScalarAsync<int>(database, "SELECT version FROM tokengate_schema"));
                Assert.All(stores, store => Assert.NotNull(store.ObserveRevocationEpoch()));
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
    public async Task An_older_schema_is_migrated_in_place_and_its_data_stays_usable()
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("migrate");
        var digest = SHA256.HashData(RandomNumberGenerator.GetBytes(20));
        var sealedToken = RandomNumberGenerator.GetBytes(64);
        long accountId;
        await using (var connection = await cluster.OpenAsync(database))
        {
            Assert.Equal(0, await PostgresSchema.MigrateAsync(connection, Cancel, targetVersion: 1));
            Assert.Equal(1, await PostgresSchema.ReadVersionAsync(connection, Cancel));
            await using var insert = new NpgsqlCommand("INSERT INTO accounts (name, password_hash, created_at) VALUES ('alice', 'hash-of-alice', $1) RETURNING id", connection)
            {
                Parameters = { new NpgsqlParameter<long> { TypedValue = Now - 10 } },
            };
            accountId = (long)(await insert.ExecuteScalarAsync(Cancel))!;
            await using var token = new NpgsqlCommand(
                "INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at) VALUES ($1, $2, '10.0.0.1', $3, $4, $5)",
                connection)
            {
                Parameters =
                {
                    new NpgsqlParameter<byte[]> { TypedValue = digest },
                    new NpgsqlParameter<long> { TypedValue = accountId },
                    new NpgsqlParameter<byte[]> { TypedValue = sealedToken },
                    new NpgsqlParameter<long> { TypedValue = Now - 5 },
                    new NpgsqlParameter<long> { TypedValue = Now + 100 },
                },
            };
            await token.ExecuteNonQueryAsync(Cancel);
        }

        await using var store = await OpenAsync(connectionString);

        Assert.Equal(PostgresSchema.LatestVersion, await cluster.ScalarAsync<int>(database, "SELECT version FROM tokengate_schema"));
        var account = await store.FindAccountAsync("alice", Cancel);
        Assert.Equal(new AccountRecord(accountId, "alice", "hash-of-alice", true, 0, Now - 10), account);
        var found = await store.FindTokenAsync(digest, Cancel);
        Assert.Equal((accountId, "alice", "10.0.0.1", Now - 5, Now + 100), (found!.AccountId, found.AccountName, found.AddressKey, found.IssuedAt, found.ExpiresAt));
        var again = await store.GetOrAddTokenAsync(
            new TokenIssueRequest(accountId, account!.CredentialStamp, "10.0.0.1", SHA256.HashData(RandomNumberGenerator.GetBytes(20)), RandomNumberGenerator.GetBytes(64), Now, Now + 43_200, 10),
            Cancel);
        Assert.Equal((TokenIssueStatus.Existing, Now + 100), (again.Status, again.ExpiresAt));
        Assert.Equal(digest, again.Digest);
        Assert.Equal(sealedToken, again.SealedToken);
        Assert.NotNull(store.ObserveRevocationEpoch());
        Assert.True(await store.SetAccountIntrospectionAsync("alice", true, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_version_8_schema_is_migrated_to_per_account_policies_and_its_accounts_keep_the_server_settings()
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("policies");
        var digest = SHA256.HashData(RandomNumberGenerator.GetBytes(20));
        await using (var connection = await cluster.OpenAsync(database))
        {
            await PostgresSchema.MigrateAsync(connection, Cancel, targetVersion: 8);
            Assert.Equal(8, await PostgresSchema.ReadVersionAsync(connection, Cancel));
            await using var insert = new NpgsqlCommand(
                """
                WITH a AS (INSERT INTO accounts (name, password_hash, created_at) VALUES ('alice', 'hash-of-alice', 0) RETURNING id)
                INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at) SELECT $1, id, '10.0.0.1', '\\x00', $2, $3 FROM a
                """,
                connection)
            {
                Parameters =
                {
                    new NpgsqlParameter<byte[]> { TypedValue = digest },
                    new NpgsqlParameter<long> { TypedValue = Now - 5 },
                    new NpgsqlParameter<long> { TypedValue = Now + 100 },
                },
            };
            await insert.ExecuteNonQueryAsync(Cancel);
        }

        await using var store = await OpenAsync(connectionString);

        Assert.Equal(PostgresSchema.LatestVersion, await cluster.ScalarAsync<int>(database, "SELECT version FROM tokengate_schema"));
        Assert.True((await store.FindAccountAsync("alice", Cancel))!.Policy.IsDefault);
        Assert.Null((await store.FindTokenAsync(digest, Cancel))!.AllowedNetworks);
        AllowedNetworks.TryParse("10.0.0.0/24", out var networks);
        Assert.True(await store.SetAccountPolicyAsync("alice", new AccountPolicy(networks, TimeSpan.FromHours(2), 5), Cancel));
        var policy = (await store.FindAccountAsync("alice", Cancel))!.Policy;
        Assert.Equal(("10.0.0.0/24", TimeSpan.FromHours(2), 5), (policy.AllowedNetworks!.Text, policy.TokenLifetime, policy.MaxTokens));
        Assert.Equal("10.0.0.0/24", (await store.FindTokenAsync(digest, Cancel))!.AllowedNetworks);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_version_9_schema_with_clashing_names_is_migrated_without_changing_them_and_refuses_a_new_look_alike()
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("names");
        await using (var connection = await cluster.OpenAsync(database))
        {
            await PostgresSchema.MigrateAsync(connection, Cancel, targetVersion: 9);
            await using var insert = new NpgsqlCommand(
                "INSERT INTO accounts (name, password_hash, created_at) VALUES ('alice', 'hash-lower', 0), ('Alice', 'hash-upper', 0), ('bob', 'hash-bob', 0)",
                connection);
            await insert.ExecuteNonQueryAsync(Cancel);
        }

        await using var store = await OpenAsync(connectionString);

        Assert.Equal(PostgresSchema.LatestVersion, await cluster.ScalarAsync<int>(database, "SELECT version FROM tokengate_schema"));
        Assert.Equal("hash-lower", (await store.FindAccountAsync("alice", Cancel))!.PasswordHash);
        Assert.Equal("hash-upper", (await store.FindAccountAsync("Alice", Cancel))!.PasswordHash);
        Assert.Null(await store.FindAccountAsync("ALICE", Cancel));
        Assert.Equal([["Alice", "alice"]], (await AccountNameClashes.FindAsync(store, Now, Cancel)).Select(group => group.ToArray()).ToArray());
        Assert.False(await store.CreateAccountAsync("ALICE", "hash-new", Now, Cancel));
        Assert.False(await store.CreateAccountAsync("Bob", "hash-new", Now, Cancel));
        Assert.True(await store.CreateAccountAsync("carol", "hash-carol", Now, Cancel));
        Assert.Equal(4, (await store.ListAccountsAsync(Now, Cancel)).Count);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_database_with_a_newer_schema_is_refused_and_left_unchanged()
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("newer");
        await using (var store = await OpenAsync(connectionString))
        {
            await store.CreateAccountAsync("alice", "hash-of-alice", Now, Cancel);
        }

        await cluster.ExecuteAsync(database, $"UPDATE tokengate_schema SET version = {PostgresSchema.LatestVersion + 1}");

        await using var newer = New(connectionString);
        await Assert.ThrowsAsync<StorageSchemaException>(() => newer.InitializeAsync(Cancel).AsTask());
        Assert.Equal(PostgresSchema.LatestVersion + 1, await cluster.ScalarAsync<int>(database, "SELECT version FROM tokengate_schema"));
        Assert.Equal(1L, await cluster.ScalarAsync<long>(database, "SELECT count(*) FROM accounts"));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Concurrent_gets_through_two_instances_return_one_token()
    {
        var (_, _, connectionString) = await postgres.CreateDatabaseAsync("two_instances");
        await using var first = await OpenAsync(connectionString);
        await using var second = await OpenAsync(connectionString);
        await first.CreateAccountAsync("alice", "hash", Now, Cancel);
        var alice = (await first.FindAccountAsync("alice", Cancel))!;

        var results = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(
            () => (i % 2 == 0 ? first : second).GetOrAddTokenAsync(Request(alice, "10.0.0.1,10.0.0.2"), Cancel).AsTask(),
            Cancel)));

        var added = Assert.Single(results, r => r.Status == TokenIssueStatus.Added);
        Assert.All(results, r => Assert.Equal(added.Digest, r.Digest));
        Assert.Single(await second.ListTokensAsync("alice", 100, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_token_issued_while_another_instance_changes_the_password_never_outlives_the_change()
    {
        var (_, _, connectionString) = await postgres.CreateDatabaseAsync("issue_vs_passwd");
        await using var issuer = await OpenAsync(connectionString);
        await using var changer = await OpenAsync(connectionString);
        for (var round = 0; round < 40; round++)
        {
            var name = $"user-{round}";
            await issuer.CreateAccountAsync(name, "old-hash", Now, Cancel);
            var account = (await issuer.FindAccountAsync(name, Cancel))!;
            var requests = Enumerable.Range(0, 4).Select(i => Request(account, $"10.0.0.{i}")).ToList();

            var issues = requests.Select(r => Task.Run(() => issuer.GetOrAddTokenAsync(r, Cancel).AsTask(), Cancel)).ToList();
            var change = Task.Run(() => changer.ChangePasswordAsync(account.Id, "new-hash", keepTokenDigest: null, Cancel).AsTask(), Cancel);
            await Task.WhenAll(issues);
            Assert.True(await change);

            // Each issue either came before the change (and its token was deleted with the others) or after (and was refused).
            Assert.Empty(await issuer.ListTokensAsync(name, 100, Cancel));
            Assert.All(issues, issue => Assert.Contains(issue.Result.Status, new[] { TokenIssueStatus.Added, TokenIssueStatus.CredentialsChanged }));
        }
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_revocation_through_one_instance_moves_the_epoch_of_another_within_milliseconds()
    {
        var (_, _, connectionString) = await postgres.CreateDatabaseAsync("epoch_lag");
        await using var watcher = await OpenAsync(connectionString);
        await using var writer = await OpenAsync(connectionString);
        await writer.CreateAccountAsync("alice", "hash", Now, Cancel);
        var alice = (await writer.FindAccountAsync("alice", Cancel))!;
        var lags = new List<TimeSpan>();
        for (var i = 0; i < 20; i++)
        {
            var request = Request(alice, $"10.0.1.{i}");
            await writer.GetOrAddTokenAsync(request, Cancel);
            var before = watcher.ObserveRevocationEpoch();
            Assert.NotNull(before);

            Assert.True(await writer.DeleteTokenAsync(request.Digest, Cancel));
            var clock = Stopwatch.StartNew();
            while (watcher.ObserveRevocationEpoch() == before && clock.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(1, Cancel);
            }

            lags.Add(clock.Elapsed);
            Assert.NotEqual(before, watcher.ObserveRevocationEpoch());
        }

        var sorted = lags.Order().ToList();
        TestContext.Current.TestOutputHelper?.WriteLine($"epoch lag across instances over 20 deletes: median {sorted[10].TotalMilliseconds:F1} ms, max {sorted[^1].TotalMilliseconds:F1} ms");
        Assert.True(sorted[^1] < TimeSpan.FromSeconds(1), $"slowest {sorted[^1]}");
    }

    [Fact(Timeout = TestTimeout)]
    public async Task When_the_listener_is_cut_off_the_epoch_is_unknown_until_it_is_back_and_revocations_meanwhile_are_caught_up()
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("listener");
        await using var store = await OpenAsync(new PostgresStoreOptions
        {
            ConnectionString = connectionString,
            ListenerRetryDelay = TimeSpan.FromSeconds(1.5),
            ListenerMaxRetryDelay = TimeSpan.FromSeconds(1.5),
        });
        await using var other = await OpenAsync(connectionString);
        await store.CreateAccountAsync("alice", "hash", Now, Cancel);
        var alice = (await store.FindAccountAsync("alice", Cancel))!;
        var token = Request(alice, "10.0.0.1");
        await store.GetOrAddTokenAsync(token, Cancel);
        var before = store.ObserveRevocationEpoch();
        Assert.NotNull(before);

        // Cut the listeners' sessions (this store's, and the other's), as a failover or a network fault would, and revoke while away.
        Assert.Equal(2L, await TerminateListenersAsync(cluster, database));
        await WaitUntilAsync(() => store.ObserveRevocationEpoch() is null, "the epoch should become unknown (caches bypassed) once the listener is cut off");
        Assert.True(await other.DeleteTokenAsync(token.Digest, Cancel));
        Assert.Null(store.ObserveRevocationEpoch());

        await WaitUntilAsync(() => store.ObserveRevocationEpoch() is not null, "the listener should connect again by itself");
        var caughtUp = store.ObserveRevocationEpoch();
        Assert.NotEqual(before, caughtUp);

        // And it listens again: the next revocation elsewhere is seen.
        var next = Request(alice, "10.0.0.2");
        await store.GetOrAddTokenAsync(next, Cancel);
        Assert.True(await other.DeleteTokenAsync(next.Digest, Cancel));
        await WaitUntilAsync(() => store.ObserveRevocationEpoch() != caughtUp, "a revocation after the reconnect should move the epoch");
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_listener_that_reconnects_after_nothing_was_revoked_keeps_the_epoch_so_caches_stay_warm()
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("listener_quiet");
        await using var store = await OpenAsync(new PostgresStoreOptions { ConnectionString = connectionString, ListenerRetryDelay = TimeSpan.FromMilliseconds(500) });
        var before = store.ObserveRevocationEpoch();

        await TerminateListenersAsync(cluster, database);
        await WaitUntilAsync(() => store.ObserveRevocationEpoch() is null, "the epoch should become unknown once the listener is cut off");
        await WaitUntilAsync(() => store.ObserveRevocationEpoch() is not null, "the listener should connect again by itself");

        Assert.Equal(before, store.ObserveRevocationEpoch());
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_maintenance_lock_is_held_by_one_instance_at_a_time_and_freed_by_release_or_a_lost_connection()
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("maintenance");
        await using var first = await OpenAsync(connectionString);
        await using var second = await OpenAsync(connectionString);

        var held = await first.TryAcquireMaintenanceLockAsync(Cancel);
        Assert.NotNull(held);
        Assert.Null(await second.TryAcquireMaintenanceLockAsync(Cancel));
        Assert.Null(await first.TryAcquireMaintenanceLockAsync(Cancel));
        await held.DisposeAsync();

        var taken = await second.TryAcquireMaintenanceLockAsync(Cancel);
        Assert.NotNull(taken);
        Assert.Null(await first.TryAcquireMaintenanceLockAsync(Cancel));

        // The holder's session dies (its instance crashed): the lock goes with it.
        await cluster.ExecuteAsync(
            database,
            $"SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = {PostgresTokenGateStore.MaintenanceLockKey & 0xFFFF_FFFF}");
        var clock = Stopwatch.StartNew();
        IAsyncDisposable? after;
        while ((after = await first.TryAcquireMaintenanceLockAsync(Cancel)) is null)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the lock should be free once its holder's session is gone");
            await Task.Delay(20, Cancel);
        }

        await after.DisposeAsync();
        await taken.DisposeAsync();
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Lost_connections_are_reported_as_unavailable_and_the_store_recovers_by_itself()
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("lost");
        await using var store = await OpenAsync(connectionString);
        await store.CreateAccountAsync("alice", "hash", Now, Cancel);

        // Fill the pool, then end every session of this database's clients, as a server restart does.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => store.FindAccountAsync("alice", Cancel).AsTask()));
        await cluster.ExecuteAsync("postgres", $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'");

        var outcomes = new List<string>();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                Assert.NotNull(await store.FindAccountAsync("alice", Cancel));
                outcomes.Add("ok");
            }
            catch (StorageUnavailableException exception)
            {
                Assert.DoesNotContain(cluster.Password, exception.ToString(), StringComparison.Ordinal);
                Assert.Contains($"127.0.0.1:{cluster.Port}/{database}", exception.Message, StringComparison.Ordinal);
                outcomes.Add("unavailable");
            }
        }

        Assert.Equal("ok", outcomes[^1]);
        Assert.True(outcomes.Count(o => o == "unavailable") <= 1, string.Join(", ", outcomes));
        await WaitUntilAsync(() => store.ObserveRevocationEpoch() is not null, "the listener should be back");
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_database_that_cannot_be_reached_is_unavailable_at_once_without_the_password_in_the_error()
    {
        var cluster = await postgres.GetClusterAsync();
        var unreachable = $"Host=127.0.0.1;Port={ClosedPort()};Username=postgres;Password={cluster.Password};Database=nothing";
        await using var store = New(unreachable);
        var clock = Stopwatch.StartNew();

        var failure = await Assert.ThrowsAsync<StorageUnavailableException>(() => store.InitializeAsync(Cancel).AsTask());

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.DoesNotContain(cluster.Password, failure.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("The PostgreSQL database 127.0.0.1:", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_missing_database_or_a_wrong_password_is_unavailable_too()
    {
        var cluster = await postgres.GetClusterAsync();
        await using var missing = New(cluster.ConnectionString("no_such_database"));
        await using var wrongPassword = New(cluster.ConnectionString("postgres").Replace(cluster.Password, "not-the-password", StringComparison.Ordinal));

        var noDatabase = await Assert.ThrowsAsync<StorageUnavailableException>(() => missing.InitializeAsync(Cancel).AsTask());
        var refused = await Assert.ThrowsAsync<StorageUnavailableException>(() => wrongPassword.InitializeAsync(Cancel).AsTask());

        Assert.Contains("3D000", noDatabase.Message, StringComparison.Ordinal);
        Assert.Contains("28P01", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", refused.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Ends the listener session of every store on <paramref name="database"/> (the tests using it open one store with a listener
    /// whose session they cut; any other store's listener on that database would be cut too, and says so in the count).</summary>
    private static Task<long> TerminateListenersAsync(PostgresCluster cluster, string database) =>
        cluster.ScalarAsync<long>(
            "postgres",
            $"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{database}' AND application_name = 'tokengate listener'");

    private static async Task WaitUntilAsync(Func<bool> condition, string because)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), because);
            await Task.Delay(5, Cancel);
        }
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static TokenIssueRequest Request(AccountRecord account, string addressKey) =>
        new(account.Id, account.CredentialStamp, addressKey, SHA256.HashData(RandomNumberGenerator.GetBytes(20)), RandomNumberGenerator.GetBytes(64), Now, Now + 43_200, 1_000);

    private static PostgresTokenGateStore New(string connectionString) => new(new PostgresStoreOptions { ConnectionString = connectionString });

    private static Task<PostgresTokenGateStore> OpenAsync(string connectionString) => OpenAsync(new PostgresStoreOptions { ConnectionString = connectionString });

    private static async Task<PostgresTokenGateStore> OpenAsync(PostgresStoreOptions options)
    {
        var store = new PostgresTokenGateStore(options);
        await store.InitializeAsync(Cancel);
        return store;
    }
}
