namespace TokenGate.Storage.Sqlite;

/// <summary>The audit trail, in the same file and through the same group-committing writer as everything else.</summary>
public sealed partial class SqliteTokenGateStore
{
    public async ValueTask AppendAuditAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return;
        }

        await Write(cancellationToken, commands =>
        {
            foreach (var entry in entries)
            {
                InsertAudit(commands, entry);
            }

            return entries.Count;
        });
    }

    private static void InsertAudit(PreparedCommands commands, AuditEntry entry) =>
        commands.Get("INSERT INTO audit (at, account, client, action, outcome, token_id, operator) VALUES ($at, $account, $client, $action, $outcome, $token, $operator)")
            .With("$at", entry.At).With("$account", entry.Account).With("$client", entry.Client)
            .With("$action", entry.Action).With("$outcome", entry.Outcome).With("$token", entry.TokenId).With("$operator", entry.Operator)
            .ExecuteNonQuery();

    public ValueTask<IReadOnlyList<AuditRecord>> SearchAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Positive(query.Limit);

        // Only the filters given are in the SQL, so that each can use its index (a "$x IS NULL OR" would keep the planner from
        // it); a few hundred shapes at most (which filters, whether action and outcome are the routine ones), each prepared once
        // per connection.
        var sql = SearchSql(query);
        return Read<IReadOnlyList<AuditRecord>>(cancellationToken, commands =>
        {
            var command = commands.Get(sql).With("$limit", limit);
            foreach (var (name, value) in AuditSearch.Parameters(query))
            {
                command.With("$" + name, value);
            }

            using var reader = command.ExecuteReader();
            return StoreRows.ReadAll(reader, StoreRows.AuditRecord);
        });
    }

    /// <summary>The statement of <see cref="SearchAuditAsync"/> for the filters <paramref name="query"/> gives.</summary>
    internal static string SearchSql(AuditQuery query) =>
        $"SELECT id, {StoreRows.AuditColumns} FROM audit{AuditSearch.Where(query, name => "$" + name)}{AuditSearch.OrderBy(query)} LIMIT $limit";

    public ValueTask<int> PurgeAuditAsync(long before, int batchSize, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
            commands.Get("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $before ORDER BY at LIMIT $batch)")
                .With("$before", before).With("$batch", Positive(batchSize)).ExecuteNonQuery());
}
