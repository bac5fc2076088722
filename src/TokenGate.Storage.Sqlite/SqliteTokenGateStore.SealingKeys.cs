namespace TokenGate.Storage.Sqlite;

/// <summary>Which sealing keys the live tokens depend on (<see cref="ISealingKeyUsage"/>): the fingerprint in each sealed value.</summary>
public sealed partial class SqliteTokenGateStore : ISealingKeyUsage
{
    public ValueTask<IReadOnlyDictionary<string, long>> CountTokensBySealingKeyAsync(long expiresAfter, CancellationToken cancellationToken) =>
        Read<IReadOnlyDictionary<string, long>>(cancellationToken, commands =>
        {
            var command = commands.Get("SELECT lower(hex(substr(sealed, 2, 4))), count(*) FROM tokens WHERE expires_at > $after GROUP BY 1")
                .With("$after", expiresAfter);
            using var reader = command.ExecuteReader();
            var counts = new Dictionary<string, long>(StringComparer.Ordinal);
            while (reader.Read())
            {
                counts[reader.GetString(0)] = reader.GetInt64(1);
            }

            return counts;
        });
}
