using TokenGate.Operators;

namespace TokenGate.Storage.Sqlite;

/// <summary>Console operators, and the operator console's queries of accounts.</summary>
public sealed partial class SqliteTokenGateStore
{
    public ValueTask<OperatorRecord?> FindOperatorAsync(string name, CancellationToken cancellationToken) =>
        Read(cancellationToken, commands =>
        {
            using var reader = commands.Get("SELECT id, name, password_hash, created_at, credential_stamp FROM operators WHERE name = $name")
                .With("$name", name).ExecuteReader();
            return reader.Read() ? StoreRows.OperatorRecord(reader) : null;
        });

    public ValueTask<IReadOnlyList<OperatorSummary>> ListOperatorsAsync(CancellationToken cancellationToken) =>
        Read<IReadOnlyList<OperatorSummary>>(cancellationToken, commands =>
        {
            using var reader = commands.Get("SELECT name, created_at FROM operators ORDER BY name").ExecuteReader();
            return StoreRows.ReadAll(reader, StoreRows.OperatorSummary);
        });

    public ValueTask<bool> CreateOperatorAsync(string name, string passwordHash, long createdAt, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
            // Both unique indexes (exact and NOCASE) make a taken name a conflict, which DO NOTHING turns into 0 rows.
            commands.Get(
                """
                INSERT INTO operators (name, password_hash, created_at, credential_stamp) VALUES ($name, $hash, $created, $stamp)
                ON CONFLICT DO NOTHING
                """)
                .With("$name", name).With("$hash", passwordHash).With("$created", createdAt).With("$stamp", OperatorRecord.NewCredentialStamp())
                .ExecuteNonQuery() == 1);

    public ValueTask<bool> SetOperatorPasswordAsync(string name, string passwordHash, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
            commands.Get("UPDATE operators SET password_hash = $hash, credential_stamp = $stamp WHERE name = $name")
                .With("$hash", passwordHash).With("$stamp", OperatorRecord.NewCredentialStamp()).With("$name", name)
                .ExecuteNonQuery() == 1);

    public ValueTask<bool> RemoveOperatorAsync(string name, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands => commands.Get("DELETE FROM operators WHERE name = $name").With("$name", name).ExecuteNonQuery() == 1);

    public ValueTask<IReadOnlyList<AccountSummary>> SearchAccountsAsync(string? nameContains, string? after, int limit, long now, CancellationToken cancellationToken)
    {
        var positiveLimit = Positive(limit);

        // A range of the name's unique index from "after" ('' sorts before every name), read in order until the page is full;
        // lower() folds A-Z only, as names ignoring case are compared.
        return Read<IReadOnlyList<AccountSummary>>(cancellationToken, commands =>
        {
            var command = commands.Get(
                """
                SELECT a.name, a.enabled, a.created_at,
                       (SELECT count(*) FROM tokens t WHERE t.account_id = a.id AND t.expires_at > $now), a.introspect,
                       a.allowed_networks, a.token_lifetime, a.max_tokens
                FROM accounts a
                WHERE a.name > $after AND ($contains IS NULL OR instr(lower(a.name), lower($contains)) > 0)
                ORDER BY a.name LIMIT $limit
                """).With("$now", now).With("$after", after ?? string.Empty).With("$contains", nameContains).With("$limit", positiveLimit);
            using var reader = command.ExecuteReader();
            return StoreRows.ReadAll(reader, StoreRows.AccountSummary);
        });
    }

    public ValueTask<AccountCounts> CountAccountsAsync(long now, CancellationToken cancellationToken) =>
        Read(cancellationToken, commands =>
        {
            using var reader = commands.Get(
                """
                SELECT coalesce(sum(enabled), 0), count(*) - coalesce(sum(enabled), 0),
                       (SELECT count(*) FROM tokens WHERE expires_at > $now)
                FROM accounts
                """).With("$now", now).ExecuteReader();
            reader.Read();
            return new AccountCounts(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt64(2));
        });
}
