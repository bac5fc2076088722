using Npgsql;
using NpgsqlTypes;

namespace TokenGate.Storage.Postgres;

/// <summary>The audit trail, in the same database: a batch of entries is one INSERT of arrays, one round trip.</summary>
public sealed partial class PostgresTokenGateStore
{
    public async ValueTask AppendAuditAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return;
        }

        await NonQueryAsync(
            """
            INSERT INTO audit (at, account, client, action, outcome, token_id, operator)
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
            """,
            cancellationToken,
            Value(entries.Select(e => e.At).ToArray()),
            TextArray(entries.Select(e => e.Account)),
            TextArray(entries.Select(e => e.Client)),
            TextArray(entries.Select(e => e.Action)),
            TextArray(entries.Select(e => e.Outcome)),
            TextArray(entries.Select(e => e.TokenId)),
            TextArray(entries.Select(e => e.Operator)));
    }

    public ValueTask<IReadOnlyList<AuditRecord>> SearchAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1, nameof(query));

        // Only the filters given are in the SQL, numbered in the order AuditSearch lists them, so that each can use its index.
        var count = 0;
        var where = AuditSearch.Where(query, _ => "$" + (++count).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var parameters = AuditSearch.Parameters(query)
            .Select(p => p.Value is long number ? (NpgsqlParameter)Value(number) : Text((string)p.Value))
            .Append(Value(query.Limit))
            .ToArray();
        return QueryAllAsync(
            $"SELECT id, {StoreRows.AuditColumns} FROM audit{where}{AuditSearch.OrderBy(query)} LIMIT ${count + 1}",
            StoreRows.AuditRecord,
            cancellationToken,
            parameters);
    }

    public ValueTask<int> PurgeAuditAsync(long before, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return NonQueryAsync(
            "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)",
            cancellationToken,
            Value(before),
            Value(batchSize));
    }

    private static NpgsqlParameter TextArray(IEnumerable<string?> values) =>
        new() { Value = values.Select(v => (object?)v ?? DBNull.Value).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
