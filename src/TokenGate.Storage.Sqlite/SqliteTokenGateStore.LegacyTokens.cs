using Microsoft.Data.Sqlite;

namespace TokenGate.Storage.Sqlite;

/// <summary>
/// The legacy-token marker (<see cref="ILegacyTokenMarker"/>): <c>meta.legacy_tokens_expire_at</c>, set by migration 8. Read at
/// start by an initialized store, and on first need by a read-only one (an API's local mode); kept in memory after that.
/// </summary>
public sealed partial class SqliteTokenGateStore
{
    private const long MarkerUnread = long.MinValue;
    private const long NoMarker = long.MinValue + 1;

    private long _legacyMarker = MarkerUnread;

    public long? LegacyTokensExpireAt
    {
        get
        {
            var marker = Volatile.Read(ref _legacyMarker);
            if (marker == MarkerUnread)
            {
                marker = Read(CancellationToken.None, commands => ReadLegacyMarker(commands.Connection)).AsTask().GetAwaiter().GetResult();
            }

            return marker == NoMarker ? null : marker;
        }
    }

    public ValueTask<bool> ClearLegacyTokenMarkerAsync(long expiredAtOrBefore, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
        {
            commands.Get("UPDATE meta SET legacy_tokens_expire_at = NULL WHERE legacy_tokens_expire_at <= $cutoff").With("$cutoff", expiredAtOrBefore).ExecuteNonQuery();
            var marker = Remember(commands.Get("SELECT legacy_tokens_expire_at FROM meta").ExecuteScalar());
            return marker == NoMarker;
        });

    /// <summary>
    /// The marker as the file holds it now, remembered. A file of an older schema (its server not yet upgraded) is all untagged
    /// tokens: every token may be one, and nothing is remembered, so that the marker is read again after the upgrade.
    /// </summary>
    private long ReadLegacyMarker(SqliteConnection connection)
    {
        if (SqliteSchema.ReadVersion(connection) < SqliteSchema.TaggedTokensVersion)
        {
            return long.MaxValue;
        }

        using var command = connection.CreateCommand();
        command.CommandText = "SELECT legacy_tokens_expire_at FROM meta";
        return Remember(command.ExecuteScalar());
    }

    private long Remember(object? value)
    {
        var marker = value is long expiresAt ? expiresAt : NoMarker;
        Volatile.Write(ref _legacyMarker, marker);
        return marker;
    }
}
