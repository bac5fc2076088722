using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using TokenGate.Accounts;

namespace TokenGate.Storage.Postgres;

/// <summary>
/// The store for many instances: one PostgreSQL database (or a compatible engine) shared by every TokenGate process. Each call
/// is one short implicit transaction, mostly one round trip: several statements go out as one batch, which PostgreSQL runs in
/// one transaction, each statement with a fresh snapshot. Issuing is the exception: concurrent issues share a transaction and
/// its commit (<see cref="PostgresIssueWriter"/>). Writes that must see the latest state of an account first lock its
/// row (<c>FOR UPDATE</c>), so issuing, password changes, disabling and removal of one account take turns across instances.
/// Every revoking write moves <c>meta.revocation_epoch</c> and sends <c>NOTIFY</c> in its transaction; see
/// <see cref="PostgresRevocationListener"/>. Faults that mean "the database cannot be used now" become
/// <see cref="StorageUnavailableException"/>; the messages name host, port and database, never credentials.
/// </summary>
public sealed partial class PostgresTokenGateStore : ITokenGateStore, IMaintenanceLock, ILegacyTokenMarker
{
    /// <summary>The schema version this build creates and migrates to (a started store is at it).</summary>
    public static int SchemaVersion => PostgresSchema.LatestVersion;

    /// <summary>The advisory lock key of the sweeps ("TGsweeps" in ASCII); advisory locks are per database.</summary>
    internal const long MaintenanceLockKey = 0x5447_7377_6565_7073;

    /// <summary>The advisory lock key of account creation ("TGnames!" in ASCII), so that names stay unique ignoring case.</summary>
    internal const long AccountNamesLockKey = 0x5447_6E61_6D65_7321;

    private const int MaxAttempts = 3;

    private const string Revoked =
        $$"""
        bumped AS (
            UPDATE meta SET revocation_epoch = revocation_epoch + 1 WHERE id = 1 AND {0} RETURNING revocation_epoch),
        notified AS (
            SELECT revocation_epoch, pg_notify('{{PostgresRevocationListener.Channel}}', revocation_epoch::text) FROM bumped)
        """;

    private const string FindCurrentTokenSql =
        """
        SELECT digest, sealed, expires_at FROM tokens
        WHERE account_id = $1 AND addresses = $2 AND expires_at > $3 AND expires_at <= $4
        ORDER BY expires_at DESC LIMIT 1
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _listenerSource;
    private readonly PostgresRevocationListener _revocations;
    private readonly PostgresIssueWriter _issues;
    private readonly PostgresStoreOptions _options;
    private readonly SemaphoreSlim _initializeLock = new(1, 1);
    private volatile bool _initialized;
    private volatile bool _disposed;

    public PostgresTokenGateStore(PostgresStoreOptions options)
    {
        _options = options;
        ConnectionString = options.ConnectionString;
        var builder = PostgresConnectionString.Parse(options.ConnectionString);
        Description = PostgresConnectionString.Describe(builder);
        _dataSource = new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();

        // The listener's own connection: outside the pool (a pooled connection is reset, LISTEN and all, when returned), and
        // probed when silent so that a link that died without a word is noticed.
        var listener = new NpgsqlConnectionStringBuilder(builder.ConnectionString)
        {
            Pooling = false,
            KeepAlive = options.ListenerKeepAlive,
            ApplicationName = $"{builder.ApplicationName} listener",
        };
        _listenerSource = NpgsqlDataSource.Create(listener.ConnectionString);
        var logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<PostgresTokenGateStore>();
        _revocations = new PostgresRevocationListener(_listenerSource, options, logger);
        _issues = new PostgresIssueWriter(_dataSource, Unavailable);
    }

    /// <summary>The connection string as given (it may hold a password: never log it).</summary>
    public string ConnectionString { get; }

    /// <summary>Host(s), port and database, for logs and messages: never the user or the password.</summary>
    public string Description { get; }

    /// <summary>The group-committing writer of <see cref="GetOrAddTokenAsync"/>, whose counters the tests read.</summary>
    internal PostgresIssueWriter Issues => _issues;

    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _initializeLock.WaitAsync(cancellationToken);
        try
        {
            if (_initialized)
            {
                return;
            }

            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
                    await PostgresSchema.MigrateAsync(connection, cancellationToken);
                    await ReadLegacyMarkerAsync(connection, cancellationToken);
                    break;
                }
                catch (Exception exception) when (PostgresFaults.IsRetryable(exception) && attempt < MaxAttempts)
                {
                }
                catch (Exception exception) when (PostgresFaults.IsUnavailable(exception) && !cancellationToken.IsCancellationRequested)
                {
                    throw PostgresFaults.Unavailable(exception, Description);
                }
            }

            await _revocations.StartAsync(_options.ListenerStartTimeout, cancellationToken);
            _initialized = true;
        }
        finally
        {
            _initializeLock.Release();
        }
    }

    public ValueTask<AccountRecord?> FindAccountAsync(string name, CancellationToken cancellationToken) =>
        RunAsync(
            async (connection, ct) =>
            {
                await using var command = Command(
                    connection,
                    "SELECT id, name, password_hash, enabled, credential_stamp, created_at, introspect, allowed_networks, token_lifetime, max_tokens FROM accounts WHERE name = $1",
                    Text(name));
                await using var reader = await command.ExecuteReaderAsync(ct);
                return await reader.ReadAsync(ct)
                    ? new AccountRecord(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetBoolean(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetBoolean(6))
                    {
                        Policy = StoreRows.AccountPolicy(reader, 7),
                    }
                    : null;
            },
            cancellationToken);

    public ValueTask<IReadOnlyList<AccountSummary>> ListAccountsAsync(long now, CancellationToken cancellationToken) =>
        QueryAllAsync(
            """
            SELECT a.name, a.enabled, a.created_at,
                   (SELECT count(*) FROM tokens t WHERE t.account_id = a.id AND t.expires_at > $1)::integer, a.introspect,
                   a.allowed_networks, a.token_lifetime, a.max_tokens
            FROM accounts a ORDER BY a.name COLLATE "C"
            """,
            StoreRows.AccountSummary,
            cancellationToken,
            Value(now));

    public ValueTask<bool> CreateAccountAsync(string name, string passwordHash, long createdAt, CancellationToken cancellationToken) =>
        RunAsync(
            async (connection, ct) =>
            {
                // Unique ignoring case for new accounts, without a unique index (accounts that clash already keep working): the
                // batch is one implicit transaction, the lock makes concurrent adds take turns, and the INSERT, a later statement,
                // sees what the previous holder committed (READ COMMITTED takes its snapshot per statement).
                await using var batch = Batch(
                    connection,
                    Statement("SELECT pg_advisory_xact_lock($1)", Value(AccountNamesLockKey)),
                    Statement(
                        """
                        INSERT INTO accounts (name, password_hash, created_at)
                        SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE lower(name) = lower($1))
                        ON CONFLICT (name) DO NOTHING
                        """,
                        Text(name),
                        Text(passwordHash),
                        Value(createdAt)));
                await batch.ExecuteNonQueryAsync(ct);
                return batch.BatchCommands[1].RecordsAffected == 1;
            },
            cancellationToken);

    public ValueTask<bool> ChangePasswordAsync(long accountId, string passwordHash, ReadOnlyMemory<byte>? keepTokenDigest, CancellationToken cancellationToken) =>
        // The UPDATE waits for a token being issued to this account; the DELETE, a later statement, then sees that token.
        RevokingBatchAsync(
            () =>
            [
                Statement("UPDATE accounts SET password_hash = $2, credential_stamp = credential_stamp + 1 WHERE id = $1", Value(accountId), Text(passwordHash)),
                Statement("DELETE FROM tokens WHERE account_id = $1 AND ($2::bytea IS NULL OR digest <> $2)", Value(accountId), Bytes(keepTokenDigest)),
                Statement(BumpIf("EXISTS (SELECT 1 FROM accounts WHERE id = $1)"), Value(accountId)),
            ],
            FirstChangedOne,
            cancellationToken);

    public async ValueTask RehashPasswordAsync(long accountId, string currentHash, string newHash, CancellationToken cancellationToken) =>
        await NonQueryAsync(
            "UPDATE accounts SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
            cancellationToken,
            Value(accountId),
            Text(currentHash),
            Text(newHash));

    public ValueTask<bool> SetAccountEnabledAsync(string name, bool enabled, CancellationToken cancellationToken) =>
        RevokingBatchAsync(
            () => enabled
                ?
                [
                    Statement("UPDATE accounts SET enabled = true WHERE name = $1", Text(name)),
                    Statement(BumpIf("EXISTS (SELECT 1 FROM accounts WHERE name = $1)"), Text(name)),
                ]
                :
                [
                    Statement("UPDATE accounts SET enabled = false, credential_stamp = credential_stamp + 1 WHERE name = $1", Text(name)),
                    Statement("DELETE FROM tokens WHERE account_id = (SELECT id FROM accounts WHERE name = $1)", Text(name)),
                    Statement(BumpIf("EXISTS (SELECT 1 FROM accounts WHERE name = $1)"), Text(name)),
                ],
            FirstChangedOne,
            cancellationToken);

    public ValueTask<bool> SetAccountIntrospectionAsync(string name, bool allowed, CancellationToken cancellationToken) =>
        RevokingBatchAsync(
            () =>
            [
                Statement("UPDATE accounts SET introspect = $2 WHERE name = $1", Text(name), Value(allowed)),
                Statement(BumpIf("EXISTS (SELECT 1 FROM accounts WHERE name = $1)"), Text(name)),
            ],
            FirstChangedOne,
            cancellationToken);

    public ValueTask<bool> SetAccountPolicyAsync(string name, AccountPolicy policy, CancellationToken cancellationToken) =>
        RevokingBatchAsync(
            () =>
            [
                Statement(
                    "UPDATE accounts SET allowed_networks = $2, token_lifetime = $3, max_tokens = $4 WHERE name = $1",
                    Text(name),
                    Text(policy.AllowedNetworks?.Text),
                    Bigint(policy.TokenLifetime is { } lifetime ? (long)lifetime.TotalSeconds : null),
                    Bigint(policy.MaxTokens)),
                Statement(BumpIf("EXISTS (SELECT 1 FROM accounts WHERE name = $1)"), Text(name)),
            ],
            FirstChangedOne,
            cancellationToken);

    public ValueTask<bool> RemoveAccountAsync(string name, CancellationToken cancellationToken) =>
        RevokingBatchAsync(
            () =>
            [
                Statement("SELECT id FROM accounts WHERE name = $1 FOR UPDATE", Text(name)),
                Statement("DELETE FROM tokens WHERE account_id = (SELECT id FROM accounts WHERE name = $1)", Text(name)),
                Statement(DeleteAndBump("DELETE FROM accounts WHERE name = $1"), Text(name)),
            ],
            (_, removed) => removed == 1,
            cancellationToken);

    public ValueTask<StoredToken?> FindTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken) =>
        RunAsync(
            async (connection, ct) =>
            {
                await using var command = Command(
                    connection,
                    """
                    SELECT t.digest, t.account_id, a.name, a.enabled, t.addresses, t.issued_at, t.expires_at, a.allowed_networks
                    FROM tokens t JOIN accounts a ON a.id = t.account_id
                    WHERE t.digest = $1
                    """,
                    Bytes(digest));
                await using var reader = await command.ExecuteReaderAsync(ct);
                return await reader.ReadAsync(ct)
                    ? StoreRows.StoredToken(reader)
                    : null;
            },
            cancellationToken);

    /// <summary>
    /// Queued for <see cref="PostgresIssueWriter"/>: concurrent issues of this instance share one transaction and one commit,
    /// each account's row locked (<c>FOR UPDATE</c>) for the batch so that instances take turns per account.
    /// </summary>
    public ValueTask<TokenIssueResult> GetOrAddTokenAsync(TokenIssueRequest request, CancellationToken cancellationToken)
    {
        ThrowIfNotReady();
        return new ValueTask<TokenIssueResult>(_issues.IssueAsync(request, cancellationToken));
    }

    /// <summary>
    /// No: the issue batch finds the current token itself (<see cref="PostgresIssueWriter"/>); a read first would cost every new
    /// token a round trip and a query of its own (a tenth of the process's time in one-account get-new, profiled).
    /// </summary>
    public bool ReadsBeforeIssuing => false;

    public ValueTask<TokenIssueResult?> FindCurrentTokenAsync(long accountId, string addressKey, long now, long latestExpiry, CancellationToken cancellationToken) =>
        RunAsync(
            async (connection, ct) =>
            {
                await using var command = Command(connection, FindCurrentTokenSql, Value(accountId), Text(addressKey), Value(now), Value(latestExpiry));
                await using var reader = await command.ExecuteReaderAsync(ct);
                return await reader.ReadAsync(ct)
                    ? new TokenIssueResult(TokenIssueStatus.Existing, reader.GetFieldValue<byte[]>(0), reader.GetFieldValue<byte[]>(1), reader.GetInt64(2))
                    : null;
            },
            cancellationToken);

    public long? ObserveRevocationEpoch() => _revocations.Observe();

    public ValueTask<bool> DeleteTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken) =>
        RevokingBatchAsync(
            () => [Statement(DeleteAndBump("DELETE FROM tokens WHERE digest = $1"), Bytes(digest))],
            (_, deleted) => deleted == 1,
            cancellationToken);

    public ValueTask<string?> RevokeTokenByIdAsync(ReadOnlyMemory<byte> low, ReadOnlyMemory<byte> high, CancellationToken cancellationToken) =>
        RevokeAsync(
            async (connection, ct) =>
            {
                // A range of the primary key: the id is the digest's first bytes.
                await using var command = Command(
                    connection,
                    $"""
                    WITH deleted AS (DELETE FROM tokens WHERE digest >= $1 AND digest <= $2 RETURNING account_id),
                    {BumpWhen("EXISTS (SELECT 1 FROM deleted)")}
                    SELECT (SELECT min(a.name) FROM deleted d JOIN accounts a ON a.id = d.account_id), (SELECT revocation_epoch FROM notified)
                    """,
                    Bytes(low),
                    Bytes(high));
                await using var reader = await command.ExecuteReaderAsync(ct);
                return await reader.ReadAsync(ct)
                    ? (reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? (long?)null : reader.GetInt64(1))
                    : ((string?)null, (long?)null);
            },
            cancellationToken);

    public ValueTask<int> RevokeTokensAsync(string? accountName, CancellationToken cancellationToken) =>
        RevokingBatchAsync(
            () => accountName is null
                ? [Statement(DeleteAndBump("DELETE FROM tokens"))]
                :
                [
                    Statement("SELECT id FROM accounts WHERE name = $1 FOR UPDATE", Text(accountName)),
                    Statement(DeleteAndBump("DELETE FROM tokens WHERE account_id = (SELECT id FROM accounts WHERE name = $1)"), Text(accountName)),
                ],
            (_, revoked) => (int)revoked,
            cancellationToken);

    public ValueTask<IReadOnlyList<TokenSummary>> ListTokensAsync(string? accountName, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return QueryAllAsync(
            """
            SELECT t.digest, a.name, t.addresses, t.issued_at, t.expires_at
            FROM tokens t JOIN accounts a ON a.id = t.account_id
            WHERE $1::text IS NULL OR a.name = $1
            ORDER BY t.issued_at DESC, t.digest LIMIT $2
            """,
            StoreRows.TokenSummary,
            cancellationToken,
            Text(accountName),
            Value(limit));
    }

    public ValueTask<int> PurgeExpiredTokensAsync(long expiredAtOrBefore, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);

        // SKIP LOCKED: rows another transaction is deleting (a password change, an operator's purge) are left to it. A purge
        // inside the retention window (token purge --include-retained) turns "Expired token" into "Invalid token", so a purge
        // that deleted anything moves the epoch.
        return RevokingBatchAsync(
            () =>
            [
                Statement(
                    DeleteAndBump("DELETE FROM tokens WHERE digest IN (SELECT digest FROM tokens WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"),
                    Value(expiredAtOrBefore),
                    Value(batchSize)),
            ],
            (_, purged) => (int)purged,
            cancellationToken);
    }

    public async ValueTask<IAsyncDisposable?> TryAcquireMaintenanceLockAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotReady();
        NpgsqlConnection? connection = null;
        try
        {
            connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            await using var command = Command(connection, "SELECT pg_try_advisory_lock($1)", Value(MaintenanceLockKey));
            if (await command.ExecuteScalarAsync(cancellationToken) is true)
            {
                return new MaintenanceLock(connection);
            }

            await connection.DisposeAsync();
            return null;
        }
        catch (Exception exception) when (PostgresFaults.IsUnavailable(exception) && !cancellationToken.IsCancellationRequested)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            throw Unavailable(exception);
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _issues.DisposeAsync();
        await _revocations.DisposeAsync();
        await _dataSource.DisposeAsync();
        await _listenerSource.DisposeAsync();
    }

    /// <summary>Runs one unit of work on a pooled connection, retrying conflicts and translating unavailability.</summary>
    private async ValueTask<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        ThrowIfNotReady();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
                return await work(connection, cancellationToken);
            }
            catch (Exception exception) when (PostgresFaults.IsRetryable(exception) && attempt < MaxAttempts)
            {
            }
            catch (Exception exception) when (PostgresFaults.IsUnavailable(exception) && !cancellationToken.IsCancellationRequested)
            {
                throw Unavailable(exception);
            }
        }
    }

    /// <summary>A revoking write: runs it, then (its transaction committed) tells the listener the epoch it moved to.</summary>
    private async ValueTask<T> RevokeAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<(T Result, long? Epoch)>> work, CancellationToken cancellationToken)
    {
        var (result, epoch) = await RunAsync<(T, long?)>(work, cancellationToken);
        if (epoch is { } moved)
        {
            _revocations.Saw(moved);
        }

        return result;
    }

    private StorageUnavailableException Unavailable(Exception exception)
    {
        // Idle pooled connections are likely dead too: drop them, so that the first requests after a recovery get fresh ones.
        _dataSource.Clear();
        return PostgresFaults.Unavailable(exception, Description);
    }

    private void ThrowIfNotReady()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_initialized)
        {
            throw new InvalidOperationException("The store is not initialized.");
        }
    }

    /// <summary>The last statement of a revoking batch: moves the epoch and notifies when <paramref name="condition"/> holds.</summary>
    private static string BumpIf(string condition) =>
        $"""
        WITH {BumpWhen(condition)}
        SELECT NULL::bigint, (SELECT revocation_epoch FROM notified)
        """;

    /// <summary>
    /// A revoking statement: runs <paramref name="delete"/> (a <c>DELETE</c> without <c>RETURNING</c>), moves the epoch and
    /// notifies when it deleted anything, and returns (count, epoch) for <see cref="ReadCountAndEpochAsync"/>.
    /// </summary>
    private static string DeleteAndBump(string delete) =>
        $"""
        WITH deleted AS ({delete} RETURNING 1),
        {BumpWhen("EXISTS (SELECT 1 FROM deleted)")}
        SELECT (SELECT count(*) FROM deleted), (SELECT revocation_epoch FROM notified)
        """;

    private static string BumpWhen(string condition) => string.Format(System.Globalization.CultureInfo.InvariantCulture, Revoked, condition);

    /// <summary>
    /// Runs a revoking batch (its last statement from <see cref="BumpIf"/> or <see cref="DeleteAndBump"/>) in one implicit
    /// transaction; the answer is made from the batch and the count once it has committed. The statements are made anew for each
    /// attempt.
    /// </summary>
    private ValueTask<T> RevokingBatchAsync<T>(Func<NpgsqlBatchCommand[]> statements, Func<NpgsqlBatch, long, T> answer, CancellationToken cancellationToken) =>
        RevokeAsync(
            async (connection, ct) =>
            {
                await using var batch = Batch(connection, statements());
                var (count, epoch) = await ReadCountAndEpochAsync(batch, ct);
                return (answer(batch, count), epoch);
            },
            cancellationToken);

    /// <summary>The answer of a batch whose first statement changes one named row: whether it did.</summary>
    private static bool FirstChangedOne(NpgsqlBatch batch, long count) => batch.BatchCommands[0].RecordsAffected == 1;

    private static async Task<(long Count, long? Epoch)> ReadCountAndEpochAsync(NpgsqlBatch batch, CancellationToken cancellationToken)
    {
        long count = 0;
        long? epoch = null;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            do
            {
                if (reader.FieldCount == 2 && await reader.ReadAsync(cancellationToken))
                {
                    count = reader.IsDBNull(0) ? 0 : reader.GetInt64(0);
                    epoch = reader.IsDBNull(1) ? null : reader.GetInt64(1);
                }
            }
            while (await reader.NextResultAsync(cancellationToken));
        }

        // Disposing the reader consumed the end of the batch: the implicit transaction is committed from here on.
        return (count, epoch);
    }

    /// <summary>One statement in its own implicit transaction; the number of rows it changed.</summary>
    private ValueTask<int> NonQueryAsync(string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters) =>
        RunAsync(
            async (connection, ct) =>
            {
                await using var command = Command(connection, sql, Fresh(parameters));
                return await command.ExecuteNonQueryAsync(ct);
            },
            cancellationToken);

    /// <summary>One query in its own implicit transaction; every row it returns, mapped by <paramref name="map"/>.</summary>
    private ValueTask<IReadOnlyList<T>> QueryAllAsync<T>(string sql, Func<System.Data.Common.DbDataReader, T> map, CancellationToken cancellationToken, params NpgsqlParameter[] parameters) =>
        RunAsync(
            async (connection, ct) =>
            {
                await using var command = Command(connection, sql, Fresh(parameters));
                await using var reader = await command.ExecuteReaderAsync(ct);
                return await StoreRows.ReadAllAsync(reader, map, ct);
            },
            cancellationToken);

    /// <summary>Copies of <paramref name="parameters"/> for one attempt: a parameter belongs to one command, and a retry makes another.</summary>
    private static NpgsqlParameter[] Fresh(NpgsqlParameter[] parameters) => Array.ConvertAll(parameters, p => p.Clone());

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        return command;
    }

    internal static NpgsqlBatch Batch(NpgsqlConnection connection, params NpgsqlBatchCommand[] statements)
    {
        var batch = new NpgsqlBatch(connection);
        foreach (var statement in statements)
        {
            batch.BatchCommands.Add(statement);
        }

        return batch;
    }

    internal static NpgsqlBatchCommand Statement(string sql, params NpgsqlParameter[] parameters)
    {
        var statement = new NpgsqlBatchCommand(sql);
        statement.Parameters.AddRange(parameters);
        return statement;
    }

    private static NpgsqlParameter<T> Value<T>(T value) => new() { TypedValue = value };

    private static NpgsqlParameter Bigint(long? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint };

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter Bytes(ReadOnlyMemory<byte>? value) =>
        new() { Value = value is { } bytes ? bytes.ToArray() : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea };

    /// <summary>A session-level advisory lock, held by keeping its connection out of the pool until disposed.</summary>
    private sealed class MaintenanceLock(NpgsqlConnection connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var command = Command(connection, "SELECT pg_advisory_unlock($1)", Value(MaintenanceLockKey));
                await command.ExecuteScalarAsync(CancellationToken.None);
            }
            catch (Exception exception) when (PostgresFaults.IsUnavailable(exception))
            {
                // The connection is gone, and the lock with it.
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }
}
