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
                commands.Get("INSERT INTO audit (at, account, client, action, outcome, token_id) VALUES ($at, $account, $client, $action, $outcome, $token)")
                    .With("$at", entry.At).With("$account", entry.Account).With("$client", entry.Client)
                    .With("$action", entry.Action).With("$outcome", entry.Outcome).With("$token", entry.TokenId)
                    .ExecuteNonQuery();
            }

            return entries.Count;
        });
    }

    public ValueTask<IReadOnlyList<AuditEntry>> ListAuditAsync(string? accountName, long? since, int limit, CancellationToken cancellationToken) =>
        Read<IReadOnlyList<AuditEntry>>(cancellationToken, commands =>
        {
            var command = commands.Get(
                """
                SELECT at, account, client, action, outcome, token_id FROM audit
                WHERE ($account IS NULL OR account = $account) AND ($since IS NULL OR at >= $since)
                ORDER BY at DESC, id DESC LIMIT $limit
                """).With("$account", accountName).With("$since", since).With("$limit", Positive(limit));
            using var reader = command.ExecuteReader();
            return StoreRows.ReadAll(reader, StoreRows.AuditEntry);
        });

    public ValueTask<int> PurgeAuditAsync(long before, int batchSize, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
            commands.Get("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $before ORDER BY at LIMIT $batch)")
                .With("$before", before).With("$batch", Positive(batchSize)).ExecuteNonQuery());
}
