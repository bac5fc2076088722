namespace TokenGate.Storage.Sqlite;

public sealed class SqliteStoreOptions
{
    /// <summary>The database file. Its directory is created when missing.</summary>
    public required string DatabasePath { get; init; }

    /// <summary>How long a statement waits for a lock held by another process before the request gets 503.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a write may wait in the queue before it is refused as unavailable.</summary>
    public TimeSpan WriteQueueTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <c>synchronous=FULL</c>: every commit is on disk before it is acknowledged, so a token handed out survives a power loss,
    /// not only a crash. Writes are group-committed, so this costs one fsync per batch, not per token.
    /// </summary>
    public bool FullSync { get; init; } = true;

    /// <summary>The most writes committed in one transaction.</summary>
    public int MaxWriteBatch { get; init; } = 256;
}
