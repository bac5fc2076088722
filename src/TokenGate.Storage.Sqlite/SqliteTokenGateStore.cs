using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using TokenGate.Accounts;
using TokenGate.Security;

namespace TokenGate.Storage.Sqlite;

/// <summary>
/// The embedded default store: one SQLite file in WAL mode. Reads run on a small pool of connections with prepared statements,
/// concurrently with the single group-committing writer (<see cref="SqliteWriter"/>). Another process (the operator CLI) may
/// use the same file at the same time; SQLite's file locks arbitrate, and a lock held too long surfaces as
/// <see cref="StorageUnavailableException"/>.
/// </summary>
public sealed partial class SqliteTokenGateStore : ITokenGateStore, ILegacyTokenMarker
{
    /// <summary>The schema version this build creates and migrates to (a started store is at it).</summary>
    public static int SchemaVersion => SqliteSchema.LatestVersion;

    private const string FindTokenSql =
        """
        SELECT t.digest, t.account_id, a.name, a.enabled, t.addresses, t.issued_at, t.expires_at, a.allowed_networks
        FROM tokens t JOIN accounts a ON a.id = t.account_id
        WHERE t.digest = $digest
        """;

    private const string FindCurrentTokenSql =
        """
        SELECT digest, sealed, expires_at FROM tokens
        WHERE account_id = $id AND addresses = $addresses AND expires_at > $now AND expires_at <= $latest
        ORDER BY expires_at DESC LIMIT 1
        """;

    private const string FindAccountSql =
        "SELECT id, name, password_hash, enabled, credential_stamp, created_at, introspect, allowed_networks, token_lifetime, max_tokens FROM accounts WHERE name = $name";

    private readonly SqliteStoreOptions _options;
    private readonly ConcurrentBag<PreparedCommands> _readers = [];
    private readonly int _maxPooledReaders = Math.Max(4, Environment.ProcessorCount * 4);
    private readonly SqliteRevocationWatch _revocations;
    private readonly Lock _initializeLock = new();
    private readonly ActiveTokenCounts _activeTokens = new();
    private SqliteWriter? _writer;
    private volatile bool _disposed;

    public SqliteTokenGateStore(SqliteStoreOptions options)
    {
        _options = options;
        _revocations = new SqliteRevocationWatch(options);
    }

    public string DatabasePath => _options.DatabasePath;

    public ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_initializeLock)
        {
            return _writer is null ? Initialize() : ValueTask.CompletedTask;
        }
    }

    private ValueTask Initialize()
    {
        CreatePrivately(_options.DatabasePath);

        SqliteConnection? connection = null;
        try
        {
            connection = SqliteConnections.Open(_options, readOnly: false);

            // Refuse a newer file before changing anything in it (even its journal mode).
            SqliteSchema.EnsureNotNewer(connection);
            using (var wal = connection.CreateCommand())
            {
                wal.CommandText = "PRAGMA journal_mode = WAL";
                wal.ExecuteNonQuery();
            }

            SqliteSchema.Migrate(connection);
            ReadLegacyMarker(connection);
            using (var checkpoints = connection.CreateCommand())
            {
                // The writer checkpoints itself, after it has answered a batch (SqliteWriter.Checkpoint).
                checkpoints.CommandText = "PRAGMA wal_autocheckpoint = 0";
                checkpoints.ExecuteNonQuery();
            }

            _writer = new SqliteWriter(connection, _options);
            return ValueTask.CompletedTask;
        }
        catch (SqliteException exception) when (SqliteConnections.IsUnavailable(exception))
        {
            connection?.Dispose();
            throw SqliteConnections.Unavailable(exception, _options.DatabasePath);
        }
        catch
        {
            connection?.Dispose();
            throw;
        }
    }

    public ValueTask<AccountRecord?> FindAccountAsync(string name, CancellationToken cancellationToken) =>
        Read(cancellationToken, commands =>
        {
            using var reader = commands.Get(FindAccountSql).With("$name", name).ExecuteReader();
            return reader.Read() ? ReadAccount(reader) : null;
        });

    public ValueTask<IReadOnlyList<AccountSummary>> ListAccountsAsync(long now, CancellationToken cancellationToken) =>
        Read<IReadOnlyList<AccountSummary>>(cancellationToken, commands =>
        {
            var command = commands.Get(
                """
                SELECT a.name, a.enabled, a.created_at,
                       (SELECT count(*) FROM tokens t WHERE t.account_id = a.id AND t.expires_at > $now), a.introspect,
                       a.allowed_networks, a.token_lifetime, a.max_tokens
                FROM accounts a ORDER BY a.name
                """).With("$now", now);
            using var reader = command.ExecuteReader();
            return StoreRows.ReadAll(reader, StoreRows.AccountSummary);
        });

    public ValueTask<bool> CreateAccountAsync(string name, string passwordHash, long createdAt, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
            // Unique ignoring case for new accounts; the writer is the only one, so the check and the insert cannot interleave.
            commands.Get(
                """
                INSERT INTO accounts (name, password_hash, created_at)
                SELECT $name, $hash, $created WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE name = $name COLLATE NOCASE)
                ON CONFLICT (name) DO NOTHING
                """)
                .With("$name", name).With("$hash", passwordHash).With("$created", createdAt)
                .ExecuteNonQuery() == 1);

    public ValueTask<bool> ChangePasswordAsync(long accountId, string passwordHash, ReadOnlyMemory<byte>? keepTokenDigest, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
        {
            var updated = commands.Get("UPDATE accounts SET password_hash = $hash, credential_stamp = credential_stamp + 1 WHERE id = $id")
                .With("$hash", passwordHash).With("$id", accountId).ExecuteNonQuery();
            if (updated == 0)
            {
                return false;
            }

            commands.Get("DELETE FROM tokens WHERE account_id = $id AND ($keep IS NULL OR digest <> $keep)")
                .With("$id", accountId).With("$keep", keepTokenDigest?.ToArray()).ExecuteNonQuery();
            BumpRevocationEpoch(commands);
            return true;
        });

    public async ValueTask RehashPasswordAsync(long accountId, string currentHash, string newHash, CancellationToken cancellationToken) =>
        await Write(cancellationToken, commands =>
            commands.Get("UPDATE accounts SET password_hash = $new WHERE id = $id AND password_hash = $current")
                .With("$new", newHash).With("$id", accountId).With("$current", currentHash).ExecuteNonQuery());

    public ValueTask<bool> SetAccountEnabledAsync(string name, bool enabled, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
        {
            var id = commands.Get("SELECT id FROM accounts WHERE name = $name").With("$name", name).ExecuteScalar();
            if (id is not long accountId)
            {
                return false;
            }

            if (enabled)
            {
                commands.Get("UPDATE accounts SET enabled = 1 WHERE id = $id").With("$id", accountId).ExecuteNonQuery();
            }
            else
            {
                commands.Get("UPDATE accounts SET enabled = 0, credential_stamp = credential_stamp + 1 WHERE id = $id").With("$id", accountId).ExecuteNonQuery();
                commands.Get("DELETE FROM tokens WHERE account_id = $id").With("$id", accountId).ExecuteNonQuery();
            }

            BumpRevocationEpoch(commands);
            return true;
        });

    public ValueTask<bool> SetAccountIntrospectionAsync(string name, bool allowed, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
        {
            var updated = commands.Get("UPDATE accounts SET introspect = $allowed WHERE name = $name").With("$allowed", allowed).With("$name", name).ExecuteNonQuery() == 1;
            if (updated)
            {
                BumpRevocationEpoch(commands);
            }

            return updated;
        });

    public ValueTask<bool> SetAccountPolicyAsync(string name, AccountPolicy policy, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
        {
            var updated = commands.Get("UPDATE accounts SET allowed_networks = $networks, token_lifetime = $lifetime, max_tokens = $max WHERE name = $name")
                .With("$networks", policy.AllowedNetworks?.Text)
                .With("$lifetime", policy.TokenLifetime is { } lifetime ? (long)lifetime.TotalSeconds : null)
                .With("$max", policy.MaxTokens)
                .With("$name", name)
                .ExecuteNonQuery() == 1;
            if (updated)
            {
                BumpRevocationEpoch(commands);
            }

            return updated;
        });

    public ValueTask<bool> RemoveAccountAsync(string name, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
        {
            var id = commands.Get("SELECT id FROM accounts WHERE name = $name").With("$name", name).ExecuteScalar();
            if (id is not long accountId)
            {
                return false;
            }

            commands.Get("DELETE FROM tokens WHERE account_id = $id").With("$id", accountId).ExecuteNonQuery();
            commands.Get("DELETE FROM accounts WHERE id = $id").With("$id", accountId).ExecuteNonQuery();
            BumpRevocationEpoch(commands);
            return true;
        });

    public ValueTask<StoredToken?> FindTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken) =>
        Read(cancellationToken, commands =>
        {
            using var reader = commands.Get(FindTokenSql).With("$digest", digest.ToArray()).ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            return StoreRows.StoredToken(reader);
        });

    public ValueTask<TokenIssueResult> GetOrAddTokenAsync(TokenIssueRequest request, CancellationToken cancellationToken) =>
        Write(singleStatement: true, cancellationToken, commands =>
        {
            // The account's state and its current token for the address set, in one statement; then the token's INSERT and the
            // outcome's audit entry (AuditOutcome), in the same transaction. No savepoint (it cost get-new 6%, side by side): should
            // the audit entry fail, the token's INSERT is undone here.
            using (var found = commands.Get(
                """
                SELECT a.credential_stamp, a.enabled, t.digest, t.sealed, t.expires_at
                FROM accounts a
                LEFT JOIN tokens t ON $always = 0 AND t.digest = (
                    SELECT digest FROM tokens
                    WHERE account_id = a.id AND addresses = $addresses AND expires_at > $now AND expires_at <= $latest
                    ORDER BY expires_at DESC LIMIT 1)
                WHERE a.id = $id
                """).With("$id", request.AccountId).With("$addresses", request.AddressKey).With("$now", request.Now).With("$always", request.AlwaysAdd)
                .With("$latest", request.LatestReusableExpiry).ExecuteReader())
            {
                if (!found.Read() || found.GetInt64(0) != request.CredentialStamp || !found.GetBoolean(1))
                {
                    return TokenIssueResult.CredentialsChanged;
                }

                if (!found.IsDBNull(2))
                {
                    return new TokenIssueResult(TokenIssueStatus.Existing, (byte[])found.GetValue(2), (byte[])found.GetValue(3), found.GetInt64(4));
                }
            }

            if (!_activeTokens.BelowLimit(commands, request))
            {
                AuditOutcome(commands, request, TokenIssueStatus.TooManyTokens);
                return TokenIssueResult.TooManyTokens;
            }

            commands.Get(
                """
                INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at)
                VALUES ($digest, $id, $addresses, $sealed, $issued, $expires)
                """)
                .With("$digest", request.Digest).With("$id", request.AccountId).With("$addresses", request.AddressKey)
                .With("$sealed", request.SealedToken).With("$issued", request.Now).With("$expires", request.ExpiresAt)
                .ExecuteNonQuery();
            try
            {
                AuditOutcome(commands, request, TokenIssueStatus.Added);
            }
            catch (SqliteException exception) when (!SqliteConnections.IsUnavailable(exception))
            {
                // The transaction stands (an unavailable database ends the whole batch instead): undo this write's own INSERT.
                commands.Get("DELETE FROM tokens WHERE digest = $digest").With("$digest", request.Digest).ExecuteNonQuery();
                throw;
            }

            _activeTokens.Added(request.AccountId);
            return new TokenIssueResult(TokenIssueStatus.Added, request.Digest, request.SealedToken, request.ExpiresAt);
        });

    private static void AuditOutcome(PreparedCommands commands, TokenIssueRequest request, TokenIssueStatus status)
    {
        if (request.AuditEntryFor(status) is { } entry)
        {
            InsertAudit(commands, entry);
        }
    }

    public ValueTask<TokenIssueResult?> FindCurrentTokenAsync(long accountId, string addressKey, long now, long latestExpiry, CancellationToken cancellationToken) =>
        Read(cancellationToken, commands =>
        {
            using var existing = commands.Get(FindCurrentTokenSql)
                .With("$id", accountId).With("$addresses", addressKey).With("$now", now).With("$latest", latestExpiry).ExecuteReader();
            return existing.Read()
                ? new TokenIssueResult(TokenIssueStatus.Existing, (byte[])existing.GetValue(0), (byte[])existing.GetValue(1), existing.GetInt64(2))
                : null;
        });

    public long? ObserveRevocationEpoch() => _revocations.Observe();

    public ValueTask<bool> DeleteTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
        {
            var deleted = commands.Get("DELETE FROM tokens WHERE digest = $digest").With("$digest", digest.ToArray()).ExecuteNonQuery() == 1;
            if (deleted)
            {
                BumpRevocationEpoch(commands);
            }

            return deleted;
        });

    public ValueTask<string?> RevokeTokenByIdAsync(ReadOnlyMemory<byte> low, ReadOnlyMemory<byte> high, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
        {
            // A range of the primary key: the id is the digest's first bytes.
            var account = commands.Get(
                """
                SELECT a.name FROM tokens t JOIN accounts a ON a.id = t.account_id
                WHERE t.digest >= $low AND t.digest <= $high ORDER BY t.digest LIMIT 1
                """).With("$low", low.ToArray()).With("$high", high.ToArray()).ExecuteScalar() as string;
            if (account is not null && commands.Get("DELETE FROM tokens WHERE digest >= $low AND digest <= $high")
                    .With("$low", low.ToArray()).With("$high", high.ToArray()).ExecuteNonQuery() > 0)
            {
                BumpRevocationEpoch(commands);
            }

            return account;
        });

    public ValueTask<int> RevokeTokensAsync(string? accountName, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
        {
            var revoked = accountName is null
                ? commands.Get("DELETE FROM tokens").ExecuteNonQuery()
                : commands.Get("DELETE FROM tokens WHERE account_id = (SELECT id FROM accounts WHERE name = $name)").With("$name", accountName).ExecuteNonQuery();
            BumpRevocationEpoch(commands);
            return revoked;
        });

    public ValueTask<IReadOnlyList<TokenSummary>> ListTokensAsync(string? accountName, int limit, CancellationToken cancellationToken) =>
        Read<IReadOnlyList<TokenSummary>>(cancellationToken, commands =>
        {
            var command = commands.Get(
                """
                SELECT t.digest, a.name, t.addresses, t.issued_at, t.expires_at
                FROM tokens t JOIN accounts a ON a.id = t.account_id
                WHERE $name IS NULL OR a.name = $name
                ORDER BY t.issued_at DESC, t.digest LIMIT $limit
                """).With("$name", accountName).With("$limit", Positive(limit));
            using var reader = command.ExecuteReader();
            return StoreRows.ReadAll(reader, StoreRows.TokenSummary);
        });

    public ValueTask<int> PurgeExpiredTokensAsync(long expiredAtOrBefore, int batchSize, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
        {
            var purged = commands.Get("DELETE FROM tokens WHERE digest IN (SELECT digest FROM tokens WHERE expires_at <= $cutoff LIMIT $batch)")
                .With("$cutoff", expiredAtOrBefore).With("$batch", Positive(batchSize)).ExecuteNonQuery();

            // A purge inside the retention window (token purge --include-retained) turns "Expired token" into "Invalid token".
            if (purged > 0)
            {
                BumpRevocationEpoch(commands);
            }

            return purged;
        });

    /// <summary>
    /// Closes the readers first and the writer last: the writer checkpoints the whole WAL into the database file (TRUNCATE) as
    /// it closes, and a read-write connection that closes last lets SQLite delete the WAL. Closed the other way round (a
    /// read-only reader last), the data stayed in <c>-wal</c> after a clean stop and a copy of the <c>.db</c> alone lost it.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        _revocations.Dispose();
        while (_readers.TryTake(out var reader))
        {
            reader.Dispose();
        }

        _writer?.Dispose();
        _writer = null;
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// A new database file (0600) and any folder created for it (0700) are for their owner only, whatever the umask: it holds
    /// password hashes.
    /// SQLite gives the -wal and -shm files the database file's mode.
    /// </summary>
    private static void CreatePrivately(string databasePath)
    {
        var fullPath = Path.GetFullPath(databasePath);
        if (Directory.Exists(fullPath))
        {
            // Else creating the file fails with "The file ... already exists", which names neither the cause nor the fix.
            throw new StorageUnavailableException(IsADirectory(fullPath));
        }

        var directory = Path.GetDirectoryName(fullPath);
        if (FileInThePath(directory) is { } file)
        {
            // Else creating the folder fails with "The file ... already exists", which names neither the cause nor the fix.
            throw new StorageUnavailableException(
                $"Cannot create the SQLite database {fullPath}: {file} is a file, not a folder; name a database path whose folders are folders (or can be created), or move that file away.");
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory!);
            return;
        }

        if (!string.IsNullOrEmpty(directory))
        {
            PrivateFiles.CreateDirectory(directory);
        }

        if (!File.Exists(fullPath))
        {
            try
            {
                using (new FileStream(fullPath, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    UnixCreateMode = PrivateFiles.OwnerOnlyFile,
                }))
                {
                }

                // The umask may have taken the owner's write bit too: 0600 exactly.
                File.SetUnixFileMode(fullPath, PrivateFiles.OwnerOnlyFile);
            }
            catch (IOException) when (File.Exists(fullPath))
            {
                // Another process created it first.
            }
        }
    }

    /// <summary>The nearest of <paramref name="directory"/> and its parents that exists, when it is a file rather than a folder.</summary>
    private static string? FileInThePath(string? directory)
    {
        for (var folder = directory; !string.IsNullOrEmpty(folder); folder = Path.GetDirectoryName(folder))
        {
            if (Directory.Exists(folder))
            {
                return null;
            }

            if (File.Exists(folder))
            {
                return folder;
            }
        }

        return null;
    }

    /// <summary>What to say when the database path names a directory: a file in it is what was meant.</summary>
    public static string IsADirectory(string databasePath)
    {
        var fullPath = Path.GetFullPath(databasePath);
        return $"The SQLite database path {fullPath} is a directory, not a file; name a file in it, e.g. {Path.Combine(fullPath, "tokengate.db")}.";
    }

    /// <summary>SQLite reads a negative LIMIT as "no limit": a bad limit or batch size must fail, not delete everything.</summary>
    private static int Positive(int value, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(value))] string? name = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, name);
        return value;
    }

    private static void BumpRevocationEpoch(PreparedCommands commands) =>
        commands.Get("UPDATE meta SET revocation_epoch = revocation_epoch + 1").ExecuteNonQuery();

    private static AccountRecord ReadAccount(SqliteDataReader reader) =>
        new(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetBoolean(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetBoolean(6))
        {
            Policy = StoreRows.AccountPolicy(reader, 7),
        };

    private ValueTask<T> Write<T>(CancellationToken cancellationToken, Func<PreparedCommands, T> write) =>
        Write(singleStatement: false, cancellationToken, write);

    private async ValueTask<T> Write<T>(bool singleStatement, CancellationToken cancellationToken, Func<PreparedCommands, T> write)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var writer = _writer ?? throw new InvalidOperationException("The store is not initialized.");
        return await writer.ExecuteAsync(write, cancellationToken, singleStatement);
    }

    private ValueTask<T> Read<T>(CancellationToken cancellationToken, Func<PreparedCommands, T> read)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<T>(cancellationToken);
        }

        if (_disposed)
        {
            return ValueTask.FromException<T>(new ObjectDisposedException(nameof(SqliteTokenGateStore)));
        }

        PreparedCommands? commands = null;
        try
        {
            commands = _readers.TryTake(out var pooled) ? pooled : new PreparedCommands(SqliteConnections.Open(_options, readOnly: true));
            var result = read(commands);
            Return(commands);
            return ValueTask.FromResult(result);
        }
        catch (SqliteException exception) when (SqliteConnections.IsUnavailable(exception))
        {
            commands?.Dispose();
            return ValueTask.FromException<T>(SqliteConnections.Unavailable(exception, _options.DatabasePath));
        }
        catch (Exception exception)
        {
            commands?.Dispose();
            return ValueTask.FromException<T>(exception);
        }
    }

    private void Return(PreparedCommands commands)
    {
        if (_disposed || _writer is null || _readers.Count >= _maxPooledReaders)
        {
            commands.Dispose();
            return;
        }

        _readers.Add(commands);
    }
}
