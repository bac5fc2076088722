namespace TokenGate.Storage;

/// <summary>
/// An optional capability of a store: which sealing keys its live tokens depend on. Every sealed value names its key by the key's
/// fingerprint (bytes 2 to 5 of the <c>sealed</c> column, <see cref="Security.AesGcmTokenSealer"/>), so no column is needed. A key
/// ring (<see cref="Security.SealingKeyRing"/>) that lacks one of these keys is refused at start and on reload, and a key is
/// retired only once no live token depends on it. One scan of the tokens table: for the operator and for start-up, never a request.
/// </summary>
public interface ISealingKeyUsage
{
    /// <summary>
    /// How many tokens expiring after <paramref name="expiresAfter"/> (Unix seconds; the caller passes now minus the retention
    /// window, so tokens still answered "expired" count) each sealing key sealed, by fingerprint (8 lower-case hex digits).
    /// </summary>
    ValueTask<IReadOnlyDictionary<string, long>> CountTokensBySealingKeyAsync(long expiresAfter, CancellationToken cancellationToken);
}
