namespace TokenGate.Storage;

/// <summary>
/// An optional capability of a store that several server processes share (PostgreSQL): a lock, held across those processes,
/// under which periodic maintenance (the expired-token and audit sweeps) runs, so that it runs in one process at a time. A
/// store without it (SQLite, one server per file and every write serialized anyway) sweeps in every process that uses it.
/// </summary>
public interface IMaintenanceLock
{
    /// <summary>
    /// Takes the maintenance lock when no other process holds it; null when one does (that process is sweeping: skip this
    /// round). Disposing the returned handle releases the lock; it is released too if the database connection holding it is
    /// lost. The handle never throws on dispose.
    /// </summary>
    ValueTask<IAsyncDisposable?> TryAcquireMaintenanceLockAsync(CancellationToken cancellationToken);
}
