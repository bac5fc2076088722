using Npgsql;

namespace TokenGate.Storage.Postgres;

/// <summary>
/// The schema, versioned in <c>tokengate_schema</c>, with the same tables and history as the SQLite store. Migrations run at start
/// in one transaction that first takes a transaction-level advisory lock, so instances starting at once take turns: the first
/// migrates, the others find the work done. A database newer than this build is refused before anything in it changes.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>The advisory lock key of migrations ("TGschema" in ASCII); advisory locks are per database.</summary>
    public const long MigrationLockKey = 0x5447_7363_6865_6D61;

    public static readonly IReadOnlyList<string> Migrations =
    [
        // 1: accounts and tokens. Names compare and sort bytewise (COLLATE "C"), as the contract's exact comparison wants.
        // Identity values are never reused, so nothing keyed by an old account id can match a new account.
        """
        CREATE TABLE accounts (
            id               bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name             text    COLLATE "C" NOT NULL UNIQUE,
            password_hash    text    NOT NULL,
            enabled          boolean NOT NULL DEFAULT true,
            credential_stamp bigint  NOT NULL DEFAULT 0,
            created_at       bigint  NOT NULL
        );
        CREATE TABLE tokens (
            digest     bytea  NOT NULL PRIMARY KEY CHECK (octet_length(digest) = 32),
            account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            addresses  text   COLLATE "C" NOT NULL,
            sealed     bytea  NOT NULL,
            issued_at  bigint NOT NULL,
            expires_at bigint NOT NULL
        );
        CREATE INDEX tokens_by_address_set ON tokens (account_id, addresses, expires_at);
        CREATE INDEX tokens_by_expiry ON tokens (expires_at);
        """,

        // 2: counting an account's unexpired tokens (the per-account limit) without walking its expired ones (dropped by 11).
        """
        CREATE INDEX tokens_by_account_expiry ON tokens (account_id, expires_at);
        """,

        // 3: the revocation epoch, moved (and NOTIFY sent) by every revoking write, in its transaction.
        """
        CREATE TABLE meta (
            id               integer PRIMARY KEY CHECK (id = 1),
            revocation_epoch bigint  NOT NULL
        );
        INSERT INTO meta (id, revocation_epoch) VALUES (1, 0);
        """,

        // 4: the audit trail. Accounts are named, not referenced, so that the record of a removed account remains.
        """
        CREATE TABLE audit (
            id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at       bigint NOT NULL,
            account  text   COLLATE "C",
            client   text,
            action   text   NOT NULL,
            outcome  text   NOT NULL,
            token_id text
        );
        CREATE INDEX audit_by_time ON audit (at);
        CREATE INDEX audit_by_account ON audit (account, at);
        """,

        // 5: resource servers: accounts allowed to call the introspection endpoint.
        """
        ALTER TABLE accounts ADD COLUMN introspect boolean NOT NULL DEFAULT false;
        """,

        // 6: login-attempt counters and familiar addresses (issue 14), in the database rather than in each instance's memory so
        // that every instance counts together and a restart forgives nothing. Usernames appear only as the digests the caller
        // passes, never as text. last_at and last_success are indexed for the sweeper's purge, which keeps a flood of addresses
        // from growing the tables past one window.
        """
        CREATE TABLE login_attempts (
            scope    integer NOT NULL,
            username text    COLLATE "C" NOT NULL,
            client   text    COLLATE "C" NOT NULL,
            count    integer NOT NULL,
            last_at  bigint  NOT NULL,
            PRIMARY KEY (scope, username, client)
        );
        CREATE INDEX login_attempts_by_time ON login_attempts (last_at);
        CREATE TABLE login_familiar (
            username     text   COLLATE "C" NOT NULL,
            client       text   COLLATE "C" NOT NULL,
            last_success bigint NOT NULL,
            PRIMARY KEY (username, client)
        );
        CREATE INDEX login_familiar_by_time ON login_familiar (last_success);
        """,

        // 7: an upper bound of each account's unexpired tokens, kept under the account's row lock by the batched issuer
        // (PostgresIssueWriter), so that the per-account limit is checked without counting on every batch. NULL: not known yet.
        """
        ALTER TABLE accounts ADD COLUMN active_tokens_bound bigint;
        """,

        // 8: tokens carry a tag from now on (issue 15), and a token whose tag fails is refused without a lookup, except while
        // tokens issued before may still be answered: the latest expiry of those is the marker, NULL when the table is empty (a
        // new database has none). The purge clears it once that expiry is past retention.
        """
        ALTER TABLE meta ADD COLUMN legacy_tokens_expire_at bigint;
        UPDATE meta SET legacy_tokens_expire_at = (SELECT max(expires_at) FROM tokens) WHERE id = 1;
        """,

        // 9: per-account policies (issue 17): the networks an account may be used from (canonical CIDR text, comma-separated),
        // the lifetime of its new tokens in seconds, and its cap on unexpired tokens. NULL: the server's setting.
        """
        ALTER TABLE accounts ADD COLUMN allowed_networks text, ADD COLUMN token_lifetime bigint, ADD COLUMN max_tokens bigint;
        """,

        // 10: account names are unique ignoring case for new accounts (issue 25, item 7). Not a unique index: accounts that
        // already clash (alice and Alice) must keep working, so the store checks this index when it adds an account, and
        // start-up reports the clashes. lower() under the column's "C" collation folds A-Z only, as ordinal-ignore-case does
        // over the names' ASCII set.
        """
        CREATE INDEX accounts_name_folded ON accounts (lower(name));
        """,

        // 11: tokens_by_account_expiry (2) goes. Looking up an address set's current token (account_id, addresses, expires_at
        // range, latest first) fits tokens_by_address_set exactly, but with statistics that lag behind one account's growth the
        // planner walked tokens_by_account_expiry backwards instead, through every unexpired token of the account (all of them
        // when the set had none): one account issuing for new addresses slowed down as its tokens grew (28 ms per batch at a
        // few thousand tokens). Counting an account's unexpired tokens now walks its entries in tokens_by_address_set, expired
        // ones within retention included; that count runs only when the account's bound (7) cannot vouch for a batch.
        """
        DROP INDEX IF EXISTS tokens_by_account_expiry;
        """,

        // 12: the operator console (issue 16), as SQLite's 11. Console operators are not accounts (docs/DECISIONS.md): their own
        // table, names unique ignoring case from the start (a unique index on lower(name), which under "C" folds A-Z only; lookups
        // stay exact), a random credential stamp that a console session carries. The audit trail names the console operator who
        // made a change, and gets an index per filter of the console's search, each ending in id (the page order) so that a
        // filtered page is one index range read backwards.
        """
        CREATE TABLE operators (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name             text   COLLATE "C" NOT NULL UNIQUE,
            password_hash    text   NOT NULL,
            created_at       bigint NOT NULL,
            credential_stamp text   NOT NULL
        );
        CREATE UNIQUE INDEX operators_name_folded ON operators (lower(name));
        ALTER TABLE audit ADD COLUMN operator text;
        CREATE INDEX audit_by_account_id ON audit (account, id);
        CREATE INDEX audit_by_action ON audit (action, id);
        CREATE INDEX audit_by_outcome ON audit (outcome, id);
        CREATE INDEX audit_by_client ON audit (client, id);
        """,

        // 13: fewer audit indexes to write on every issue, as SQLite's 12 (each issued token appends an entry; 12's four indexes
        // cost get-new about a tenth, docs/PERFORMANCE.md). The per-account listing of the CLI now reads (account, id) as the
        // console does, so (account, at) goes; action and outcome are indexed only where an operator looks for a few entries
        // among many: not the routine get, not the routine issued token (AuditSearch adds the same terms to a search for
        // anything else, which proves the partial indexes usable to the planner).
        """
        DROP INDEX audit_by_account;
        DROP INDEX audit_by_action;
        DROP INDEX audit_by_outcome;
        CREATE INDEX audit_by_action ON audit (action, id) WHERE action <> 'get';
        CREATE INDEX audit_by_outcome ON audit (outcome, id) WHERE outcome <> 'issued';
        """,
    ];

    public static int LatestVersion => Migrations.Count;

    /// <summary>The first version whose tokens carry a tag (and whose meta row has the legacy-token marker).</summary>
    public const int TaggedTokensVersion = 8;

    /// <summary>Brings the database to <paramref name="targetVersion"/> (the latest by default). Returns the version found.</summary>
    public static async Task<int> MigrateAsync(NpgsqlConnection connection, CancellationToken cancellationToken, int? targetVersion = null)
    {
        var target = targetVersion ?? LatestVersion;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, "SELECT pg_advisory_xact_lock($1)", cancellationToken, new NpgsqlParameter<long> { TypedValue = MigrationLockKey });
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS tokengate_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)", cancellationToken);
        var current = await ReadVersionAsync(connection, cancellationToken);
        if (current > LatestVersion)
        {
            throw new StorageSchemaException(
                $"The database is at schema version {current}, newer than this build understands ({LatestVersion}). Run a newer TokenGate.");
        }

        for (var version = current + 1; version <= target; version++)
        {
            await ExecuteAsync(connection, Migrations[version - 1], cancellationToken);
        }

        if (target > current)
        {
            await ExecuteAsync(
                connection,
                "INSERT INTO tokengate_schema (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                cancellationToken,
                new NpgsqlParameter<int> { TypedValue = target });
        }

        await transaction.CommitAsync(cancellationToken);
        return current;
    }

    /// <summary>The schema version of the database the connection is on; 0 when it has none yet.</summary>
    public static async Task<int> ReadVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT version FROM tokengate_schema WHERE id = 1", connection);
        try
        {
            return await command.ExecuteScalarAsync(cancellationToken) is int version ? version : 0;
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return 0;
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
