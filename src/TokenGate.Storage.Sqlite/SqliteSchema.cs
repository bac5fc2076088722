using Microsoft.Data.Sqlite;

namespace TokenGate.Storage.Sqlite;

/// <summary>
/// The schema, versioned with <c>PRAGMA user_version</c>. Each migration takes the file from version N-1 to N; a newer build
/// applies the missing ones in place, in one transaction, at start. A file newer than this build is refused, not damaged.
/// </summary>
internal static class SqliteSchema
{
    public static readonly IReadOnlyList<string> Migrations =
    [
        // 1: accounts and tokens. Tokens are keyed by the SHA-256 of their value; the value itself is only kept sealed.
        """
        CREATE TABLE accounts (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            name             TEXT    NOT NULL UNIQUE,
            password_hash    TEXT    NOT NULL,
            enabled          INTEGER NOT NULL DEFAULT 1,
            credential_stamp INTEGER NOT NULL DEFAULT 0,
            created_at       INTEGER NOT NULL
        );
        CREATE TABLE tokens (
            digest     BLOB    NOT NULL PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            addresses  TEXT    NOT NULL,
            sealed     BLOB    NOT NULL,
            issued_at  INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX tokens_by_address_set ON tokens (account_id, addresses, expires_at);
        CREATE INDEX tokens_by_expiry ON tokens (expires_at);
        """,

        // 2: counting an account's unexpired tokens (the per-account limit) without walking its expired ones.
        """
        CREATE INDEX tokens_by_account_expiry ON tokens (account_id, expires_at);
        """,

        // 3: the revocation epoch, moved by every revoking write so that in-memory caches (of this and other processes) know
        // when to forget.
        """
        CREATE TABLE meta (
            id               INTEGER PRIMARY KEY CHECK (id = 1),
            revocation_epoch INTEGER NOT NULL
        );
        INSERT INTO meta (id, revocation_epoch) VALUES (1, 0);
        """,

        // 4: the audit trail. Accounts are named, not referenced, so that the record of a removed account remains.
        """
        CREATE TABLE audit (
            id       INTEGER PRIMARY KEY AUTOINCREMENT,
            at       INTEGER NOT NULL,
            account  TEXT,
            client   TEXT,
            action   TEXT    NOT NULL,
            outcome  TEXT    NOT NULL,
            token_id TEXT
        );
        CREATE INDEX audit_by_time ON audit (at);
        CREATE INDEX audit_by_account ON audit (account, at);
        """,

        // 5: resource servers: accounts allowed to call the introspection endpoint.
        """
        ALTER TABLE accounts ADD COLUMN introspect INTEGER NOT NULL DEFAULT 0;
        """,

        // 6: the index of migration 2 goes again. The writer now counts an account's tokens only when an upper bound it keeps
        // reaches the limit (ActiveTokenCounts), and then tokens_by_address_set serves the count (account_id is its prefix);
        // meanwhile every issued token paid for the index with a page written to the WAL: about a fifth of the bytes written
        // per token.
        """
        DROP INDEX tokens_by_account_expiry;
        """,

        // 7: login-attempt counters and familiar addresses (issue 14), in the file rather than in memory so that a restart
        // forgives nothing and every process on the file counts together. Usernames appear only as the digests the caller
        // passes, never as text. last_at and last_success are indexed for the sweeper's purge, which keeps a flood of addresses
        // from growing the tables past one window.
        """
        CREATE TABLE login_attempts (
            scope    INTEGER NOT NULL,
            username TEXT    NOT NULL,
            client   TEXT    NOT NULL,
            count    INTEGER NOT NULL,
            last_at  INTEGER NOT NULL,
            PRIMARY KEY (scope, username, client)
        ) WITHOUT ROWID;
        CREATE INDEX login_attempts_by_time ON login_attempts (last_at);
        CREATE TABLE login_familiar (
            username     TEXT    NOT NULL,
            client       TEXT    NOT NULL,
            last_success INTEGER NOT NULL,
            PRIMARY KEY (username, client)
        ) WITHOUT ROWID;
        CREATE INDEX login_familiar_by_time ON login_familiar (last_success);
        """,

        // 8: tokens carry a tag from now on (issue 15), and a token whose tag fails is refused without a lookup, except while
        // tokens issued before may still be answered: the latest expiry of those is the marker, NULL when the table is empty (a
        // new database has none). The purge clears it once that expiry is past retention.
        """
        ALTER TABLE meta ADD COLUMN legacy_tokens_expire_at INTEGER;
        UPDATE meta SET legacy_tokens_expire_at = (SELECT max(expires_at) FROM tokens);
        """,

        // 9: per-account policies (issue 17): the networks an account may be used from (canonical CIDR text, comma-separated),
        // the lifetime of its new tokens in seconds, and its cap on unexpired tokens. NULL: the server's setting.
        """
        ALTER TABLE accounts ADD COLUMN allowed_networks TEXT;
        ALTER TABLE accounts ADD COLUMN token_lifetime INTEGER;
        ALTER TABLE accounts ADD COLUMN max_tokens INTEGER;
        """,

        // 10: account names are unique ignoring case for new accounts (issue 25, item 7). Not a unique index: accounts that
        // already clash (alice and Alice) must keep working, so the store checks this index when it adds an account, and
        // start-up reports the clashes. NOCASE folds A-Z only, as ordinal-ignore-case does over the names' ASCII set.
        """
        CREATE INDEX accounts_name_nocase ON accounts (name COLLATE NOCASE);
        """,

        // 11: the operator console (issue 16). Console operators are not accounts (docs/DECISIONS.md): their own table, names
        // unique ignoring case from the start (a unique index; lookups stay exact through the column's own), a random credential
        // stamp that a console session carries. The audit trail names the console operator who made a change, and gets an index
        // per filter of the console's search, each ending in id (the page order) so that a filtered page is one index range.
        """
        CREATE TABLE operators (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            name             TEXT    NOT NULL UNIQUE,
            password_hash    TEXT    NOT NULL,
            created_at       INTEGER NOT NULL,
            credential_stamp TEXT    NOT NULL
        );
        CREATE UNIQUE INDEX operators_name_nocase ON operators (name COLLATE NOCASE);
        ALTER TABLE audit ADD COLUMN operator TEXT;
        CREATE INDEX audit_by_account_id ON audit (account, id);
        CREATE INDEX audit_by_action ON audit (action, id);
        CREATE INDEX audit_by_outcome ON audit (outcome, id);
        CREATE INDEX audit_by_client ON audit (client, id);
        """,

        // 12: fewer audit indexes to write on every issue (each issued token appends an entry; 11's four indexes cost get-new
        // about a tenth, docs/PERFORMANCE.md). The per-account listing of the CLI now reads (account, id) as the console does,
        // so (account, at) goes; action and outcome are indexed only where an operator looks for a few entries among many:
        // not the routine get, not the routine issued token (AuditSearch adds the same terms to a search for anything else,
        // which lets the planner use these partial indexes). A search for get or issued reads the trail newest first, where
        // such entries are dense.
        """
        DROP INDEX audit_by_account;
        DROP INDEX audit_by_action;
        DROP INDEX audit_by_outcome;
        CREATE INDEX audit_by_action ON audit (action, id) WHERE action <> 'get';
        CREATE INDEX audit_by_outcome ON audit (outcome, id) WHERE outcome <> 'issued';
        """,
    ];

    /// <summary>The first version whose tokens carry a tag (and whose meta row has the legacy-token marker).</summary>
    public const int TaggedTokensVersion = 8;

    public static int LatestVersion => Migrations.Count;

    /// <summary>Brings the database to <paramref name="targetVersion"/> (the latest by default). Returns the version found.</summary>
    public static int Migrate(SqliteConnection connection, int? targetVersion = null)
    {
        var target = targetVersion ?? LatestVersion;
        Execute(connection, "BEGIN IMMEDIATE");
        try
        {
            var current = Convert.ToInt32(Scalar(connection, "PRAGMA user_version"));
            if (current > LatestVersion)
            {
                throw new StorageSchemaException(
                    $"The database is at schema version {current}, newer than this build understands ({LatestVersion}). Run a newer TokenGate.");
            }

            for (var version = current + 1; version <= target; version++)
            {
                Execute(connection, Migrations[version - 1]);
            }

            if (target > current)
            {
                Execute(connection, $"PRAGMA user_version = {target}");
            }

            Execute(connection, "COMMIT");
            return current;
        }
        catch
        {
            SqliteConnections.TryRollback(connection);
            throw;
        }
    }

    public static void EnsureNotNewer(SqliteConnection connection)
    {
        var current = ReadVersion(connection);
        if (current > LatestVersion)
        {
            throw new StorageSchemaException(
                $"The database is at schema version {current}, newer than this build understands ({LatestVersion}). Run a newer TokenGate.");
        }
    }

    public static int ReadVersion(SqliteConnection connection) => Convert.ToInt32(Scalar(connection, "PRAGMA user_version"));

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
