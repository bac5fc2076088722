namespace TokenGate.Storage;

/// <summary>
/// An optional capability of a store whose database may still hold tokens issued before tokens carried a tag
/// (<see cref="Security.TokenTagger"/>): the migration that brought tags recorded, in the schema's meta data, the latest expiry of
/// the tokens the database held then. While such a token may still be answered (until that expiry plus the retention window),
/// <see cref="TokenValidator"/> lets a token whose tag fails fall through to the store; after that it refuses it at once. A new
/// database has no marker. A store without this capability holds no untagged tokens.
/// </summary>
public interface ILegacyTokenMarker
{
    /// <summary>
    /// The latest expiry (Unix seconds) of the tokens issued before tags, or null when none can remain (a new database, or the
    /// marker was cleared). Read from the database once and kept in memory: it only ever goes from a value to null, so reading
    /// it costs nothing on the request path.
    /// </summary>
    long? LegacyTokensExpireAt { get; }

    /// <summary>
    /// Clears the marker when its expiry is at or before <paramref name="expiredAtOrBefore"/> (the purge cutoff: the last untagged
    /// token is past retention); true when it was cleared or was already absent.
    /// </summary>
    ValueTask<bool> ClearLegacyTokenMarkerAsync(long expiredAtOrBefore, CancellationToken cancellationToken);
}
