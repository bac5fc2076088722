using TokenGate.Operators;

namespace TokenGate.Storage.Postgres;

/// <summary>Console operators, and the operator console's queries of accounts.</summary>
public sealed partial class PostgresTokenGateStore
{
    public async ValueTask<OperatorRecord?> FindOperatorAsync(string name, CancellationToken cancellationToken) =>
        (await QueryAllAsync(
            "SELECT id, name, password_hash, created_at, credential_stamp FROM operators WHERE name = $1",
            StoreRows.OperatorRecord,
            cancellationToken,
            Text(name))).FirstOrDefault();

    public ValueTask<IReadOnlyList<OperatorSummary>> ListOperatorsAsync(CancellationToken cancellationToken) =>
        QueryAllAsync("SELECT name, created_at FROM operators ORDER BY name", StoreRows.OperatorSummary, cancellationToken);

    public async ValueTask<bool> CreateOperatorAsync(string name, string passwordHash, long createdAt, CancellationToken cancellationToken) =>
        // Both unique indexes (exact and lower()) make a taken name a conflict, which DO NOTHING turns into 0 rows.
        await NonQueryAsync(
            "INSERT INTO operators (name, password_hash, created_at, credential_stamp) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            cancellationToken,
            Text(name),
            Text(passwordHash),
            Value(createdAt),
            Text(OperatorRecord.NewCredentialStamp())) == 1;

    public async ValueTask<bool> SetOperatorPasswordAsync(string name, string passwordHash, CancellationToken cancellationToken) =>
        await NonQueryAsync(
            "UPDATE operators SET password_hash = $2, credential_stamp = $3 WHERE name = $1",
            cancellationToken,
            Text(name),
            Text(passwordHash),
            Text(OperatorRecord.NewCredentialStamp())) == 1;

    public async ValueTask<bool> RemoveOperatorAsync(string name, CancellationToken cancellationToken) =>
        await NonQueryAsync("DELETE FROM operators WHERE name = $1", cancellationToken, Text(name)) == 1;

    public ValueTask<IReadOnlyList<AccountSummary>> SearchAccountsAsync(string? nameContains, string? after, int limit, long now, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);

        // A range of the name's unique index from "after" ('' sorts before every name), read in order until the page is full;
        // lower() under the column's "C" collation folds A-Z only, as names ignoring case are compared.
        return QueryAllAsync(
            """
            SELECT a.name, a.enabled, a.created_at,
                   (SELECT count(*) FROM tokens t WHERE t.account_id = a.id AND t.expires_at > $1)::integer, a.introspect,
                   a.allowed_networks, a.token_lifetime, a.max_tokens
            FROM accounts a
            WHERE a.name > $2 AND ($3::text IS NULL OR strpos(lower(a.name), lower($3 COLLATE "C")) > 0)
            ORDER BY a.name LIMIT $4
            """,
            StoreRows.AccountSummary,
            cancellationToken,
            Value(now),
            Text(after ?? string.Empty),
            Text(nameContains),
            Value(limit));
    }

    public async ValueTask<AccountCounts> CountAccountsAsync(long now, CancellationToken cancellationToken) =>
        (await QueryAllAsync(
            """
            SELECT (count(*) FILTER (WHERE enabled))::integer, (count(*) FILTER (WHERE NOT enabled))::integer,
                   (SELECT count(*) FROM tokens WHERE expires_at > $1)
            FROM accounts
            """,
            reader => new AccountCounts(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt64(2)),
            cancellationToken,
            Value(now)))[0];
}
