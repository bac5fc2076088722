using Npgsql;

namespace TokenGate.Storage.Postgres;

/// <summary>
/// The legacy-token marker (<see cref="ILegacyTokenMarker"/>): <c>meta.legacy_tokens_expire_at</c>, set by migration 7, read at
/// start and kept in memory. Every instance clears its own copy by time (the validator adds the retention to it); the instance
/// that sweeps clears the row.
/// </summary>
public sealed partial class PostgresTokenGateStore
{
    private const long NoMarker = long.MinValue;

    private long _legacyMarker = NoMarker;

    /// <summary>Before the store is initialized nothing is known, and every token may be an untagged one.</summary>
    public long? LegacyTokensExpireAt => !_initialized ? long.MaxValue : Volatile.Read(ref _legacyMarker) is var marker && marker != NoMarker ? marker : null;

    public ValueTask<bool> ClearLegacyTokenMarkerAsync(long expiredAtOrBefore, CancellationToken cancellationToken) =>
        RunAsync(
            async (connection, ct) =>
            {
                await using var command = Command(
                    connection,
                    """
                    WITH cleared AS (
                        UPDATE meta SET legacy_tokens_expire_at = NULL WHERE id = 1 AND legacy_tokens_expire_at <= $1 RETURNING legacy_tokens_expire_at)
                    SELECT CASE WHEN EXISTS (SELECT 1 FROM cleared) THEN NULL ELSE legacy_tokens_expire_at END FROM meta WHERE id = 1
                    """,
                    Value(expiredAtOrBefore));
                var marker = await command.ExecuteScalarAsync(ct) is long expiresAt ? expiresAt : NoMarker;
                Volatile.Write(ref _legacyMarker, marker);
                return marker == NoMarker;
            },
            cancellationToken);

    private async Task ReadLegacyMarkerAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, "SELECT legacy_tokens_expire_at FROM meta WHERE id = 1");
        Volatile.Write(ref _legacyMarker, await command.ExecuteScalarAsync(cancellationToken) is long expiresAt ? expiresAt : NoMarker);
    }
}
