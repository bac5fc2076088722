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

    /// <summary>
    /// How many frames (pages) the WAL holds before the writer has it checkpointed into the database file. SQLite's own default
    /// is 1,000; each checkpoint syncs the database file and holds the writer for its tail, and under sustained issuing a token
    /// writes about four frames, so checkpoints are kept rare: 16,000 frames, a WAL of about 64 MB (plus what is written while a
    /// checkpoint runs). Measured under benchmarks/run.sh's get-new load: 5,900-7,000 new tokens/s at 4,000 frames, 7,600-9,000 at
    /// 16,000 (docs/PERFORMANCE.md). Tests lower it to see checkpoints happen.
    /// </summary>
    internal uint WalFramesPerCheckpoint { get; init; } = 16_000;
}
