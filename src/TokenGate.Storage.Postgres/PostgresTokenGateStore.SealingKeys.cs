namespace TokenGate.Storage.Postgres;

/// <summary>Which sealing keys the live tokens depend on (<see cref="ISealingKeyUsage"/>): the fingerprint in each sealed value.</summary>
public sealed partial class PostgresTokenGateStore : ISealingKeyUsage
{
    public ValueTask<IReadOnlyDictionary<string, long>> CountTokensBySealingKeyAsync(long expiresAfter, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyDictionary<string, long>>(
            async (connection, ct) =>
            {
                await using var command = Command(
                    connection,
                    "SELECT encode(substring(sealed from 2 for 4), 'hex'), count(*) FROM tokens WHERE expires_at > $1 GROUP BY 1",
                    Value(expiresAfter));
                await using var reader = await command.ExecuteReaderAsync(ct);
                var counts = new Dictionary<string, long>(StringComparer.Ordinal);
                while (await reader.ReadAsync(ct))
                {
                    counts[reader.GetString(0)] = reader.GetInt64(1);
                }

                return counts;
            },
            cancellationToken);
}
