using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace TokenGate.Storage.Sqlite;

/// <summary>
/// The single writer. SQLite admits one writer at a time, so every write of this process goes through one connection on one
/// thread: writes queue up, and each round commits as many as are waiting (up to a batch limit) in one transaction, each in its
/// own savepoint. A write's task completes only after its transaction is committed (durable), and a failed write rolls back
/// only itself. This group commit is what makes durable issuing fast: one fsync serves a whole batch.
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    private readonly BlockingCollection<WriteOperation> _queue = new(new ConcurrentQueue<WriteOperation>());
    private readonly PreparedCommands _commands;
    private readonly SqliteStoreOptions _options;
    private readonly Thread _thread;

    private WalIndexHeader? _walIndex;

    // When a batch fails because another process held the lock past the busy timeout, the writes queued meanwhile have waited as
    // long: they are refused at once (503) rather than each batch after it waiting out the timeout again (see Admit).
    private long _lockTimedOutAt = long.MinValue;
    private Exception? _lockTimeout;

    // The checkpoint in two parts (see Checkpoint): the bulk on a thread and connection of its own, the tail on the writer.
    private readonly Thread _checkpointer;
    private readonly SemaphoreSlim _checkpointDue = new(0, 1);
    private volatile bool _stopping;
    private int _checkpointState; // Idle, Running (the checkpointer copies), TailDue (the writer copies what was added since)
    private const int Idle = 0, Running = 1, TailDue = 2;

    public SqliteWriter(SqliteConnection connection, SqliteStoreOptions options)
    {
        _commands = new PreparedCommands(connection);
        _options = options;
        _thread = new Thread(Run) { IsBackground = true, Name = "TokenGate SQLite writer" };
        _checkpointer = new Thread(RunCheckpoints) { IsBackground = true, Name = "TokenGate SQLite checkpointer" };
        _thread.Start();
        _checkpointer.Start();
    }

    /// <summary>
    /// Queues a write. <paramref name="singleStatement"/> says the write is atomic without a savepoint of its own: it changes the
    /// database with at most one statement, which SQLite already makes atomic, or it undoes its own earlier changes itself
    /// before it fails (an issue and its audit entry: <c>SqliteTokenGateStore.GetOrAddTokenAsync</c>). It then runs without a
    /// savepoint (two statements fewer per write).
    /// </summary>
    public Task<T> ExecuteAsync<T>(Func<PreparedCommands, T> write, CancellationToken cancellationToken, bool singleStatement = false)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        var operation = new WriteOperation<T>(write, cancellationToken) { SingleStatement = singleStatement };
        try
        {
            _queue.Add(operation, CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            return Task.FromException<T>(new ObjectDisposedException(nameof(SqliteWriter)));
        }

        return operation.Task;
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        _thread.Join();
        _stopping = true;
        try
        {
            _checkpointDue.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: the checkpointer wakes, sees the flag after its round, and ends.
        }

        _checkpointer.Join();
        _checkpointDue.Dispose();
        _walIndex?.Dispose();
        TruncateWal(_commands.Connection);
        _commands.Dispose();
        _queue.Dispose();
    }

    private void Run()
    {
        var batch = new List<WriteOperation>(_options.MaxWriteBatch);
        foreach (var first in _queue.GetConsumingEnumerable())
        {
            batch.Add(first);
            while (batch.Count < _options.MaxWriteBatch && _queue.TryTake(out var next))
            {
                batch.Add(next);
            }

            CommitBatch(batch);
            batch.Clear();
        }
    }

    private void CommitBatch(List<WriteOperation> batch)
    {
        var committed = Apply(batch);
        if (SqliteStoreMetrics.Enabled)
        {
            SqliteStoreMetrics.Batch(batch.Count);
            foreach (var operation in batch)
            {
                SqliteStoreMetrics.Write(operation.Waited);
            }
        }

        Complete(batch);
        if (committed)
        {
            Checkpoint();
        }
    }

    /// <summary>Runs the admitted writes of a batch in one transaction and records each one's outcome. True when it committed.</summary>
    private bool Apply(List<WriteOperation> batch)
    {
        var live = batch.Where(Admit).ToList();
        if (live.Count == 0)
        {
            return false;
        }

        try
        {
            Execute("BEGIN IMMEDIATE");
            foreach (var operation in live)
            {
                if (operation.SingleStatement)
                {
                    try
                    {
                        operation.Execute(_commands);
                    }
                    catch (SqliteException exception) when (SqliteConnections.IsUnavailable(exception))
                    {
                        // The transaction may be gone: let the batch fail below.
                        throw;
                    }
                    catch (Exception exception)
                    {
                        // Its one statement was undone by SQLite itself; the rest of the batch stands.
                        operation.Fail(Translate(exception));
                    }

                    continue;
                }

                Execute("SAVEPOINT op");
                try
                {
                    operation.Execute(_commands);
                    Execute("RELEASE op");
                }
                catch (Exception exception)
                {
                    // Undo only this write; if SQLite has ended the whole transaction, this throws and the batch fails below.
                    operation.Fail(Translate(exception));
                    Execute("ROLLBACK TO op");
                    Execute("RELEASE op");
                }
            }

            Execute("COMMIT");
        }
        catch (Exception exception)
        {
            SqliteConnections.TryRollback(_commands.Connection);
            var failure = Translate(exception);
            if (exception is SqliteException sqlite && SqliteConnections.IsLockTimeout(sqlite))
            {
                _lockTimedOutAt = Stopwatch.GetTimestamp();
                _lockTimeout = failure;
            }

            foreach (var operation in live)
            {
                operation.Fail(failure);
            }

            return false;
        }

        return true;
    }

    /// <summary>
    /// Answers a batch, off this thread: the writer must not run the rest of each request. A task completed with
    /// <c>RunContinuationsAsynchronously</c> queues its continuation to the thread pool on its own, a work item (and often a thread
    /// woken up) per write; instead the batch is split into one chunk per core, each chunk is one work item, and there the tasks'
    /// continuations run inline, one after the other, up to their next wait (the response's write). Measured side by side under
    /// get-new: about 10% more tokens per second, with less CPU per token (docs/PERFORMANCE.md). The price: code awaiting a write
    /// must not block its thread on another write (sync over async), or it holds up the writes completed after it in its chunk;
    /// nothing in TokenGate does.
    /// </summary>
    private static void Complete(List<WriteOperation> batch)
    {
        var operations = batch.ToArray();
        var size = (operations.Length + Environment.ProcessorCount - 1) / Environment.ProcessorCount;
        for (var start = 0; start < operations.Length; start += size)
        {
            ThreadPool.UnsafeQueueUserWorkItem(
                static chunk =>
                {
                    foreach (var operation in chunk)
                    {
                        operation.Complete();
                    }
                },
                new ArraySegment<WriteOperation>(operations, start, Math.Min(size, operations.Length - start)),
                preferLocal: false);
        }
    }

    /// <summary>
    /// Copies committed WAL pages into the database, so that the WAL can start over and stay small. SQLite would do it inside
    /// the commit that makes the WAL pass 1,000 pages, holding back that whole batch's answers while it writes and syncs the
    /// database file. Here the bulk runs on a thread and connection of its own while the writer goes on (a PASSIVE checkpoint
    /// never blocks a writer); but the WAL starts over only when a transaction begins after every frame has been copied, which
    /// under sustained writes the concurrent checkpoint never sees (the writer appends while it copies). So once the bulk is
    /// done the writer copies the tail, the frames added meanwhile, itself, between two batches: a short checkpoint after which
    /// its next transaction starts the WAL over. PASSIVE never waits for readers; a reader on an old snapshot only delays the
    /// restart to a later round.
    /// </summary>
    private void Checkpoint()
    {
        _walIndex ??= WalIndexHeader.TryOpen(_options.DatabasePath + "-shm");
        if (Volatile.Read(ref _checkpointState) == TailDue)
        {
            TryCheckpoint(_commands.Connection);
            Volatile.Write(ref _checkpointState, Idle);
            return;
        }

        if (_walIndex is null)
        {
            // No view of the WAL's size: checkpoint after every batch, here, as SQLite would.
            TryCheckpoint(_commands.Connection);
            return;
        }

        if (_walIndex.Frames >= _options.WalFramesPerCheckpoint && Interlocked.CompareExchange(ref _checkpointState, Running, Idle) == Idle)
        {
            _checkpointDue.Release();
        }
    }

    private void RunCheckpoints()
    {
        SqliteConnection? connection = null;
        try
        {
            while (true)
            {
                _checkpointDue.Wait();
                if (_stopping)
                {
                    return;
                }

                try
                {
                    connection ??= SqliteConnections.Open(_options, readOnly: false);
                    TryCheckpoint(connection);
                }
                catch (SqliteException)
                {
                    // Cannot open a connection now (the fault tests make the file unwritable): the writer's tail covers it.
                    connection?.Dispose();
                    connection = null;
                }

                Volatile.Write(ref _checkpointState, TailDue);
            }
        }
        finally
        {
            connection?.Dispose();
        }
    }

    /// <summary>Busy or unavailable now: a later round tries again.</summary>
    private static void TryCheckpoint(SqliteConnection connection) => SqliteConnections.TryExecute(connection, "PRAGMA wal_checkpoint(PASSIVE)");

    /// <summary>
    /// On close: every committed frame into the database file and the WAL emptied, so that after a clean stop the <c>.db</c>
    /// file alone holds all the data (a copy of it is a backup). Another process reading an older snapshot at that moment
    /// keeps part of the WAL alive; SQLite then checkpoints when the last connection closes. Busy past the busy timeout, or the
    /// file unavailable: the data is safe in the WAL all the same.
    /// </summary>
    private static void TruncateWal(SqliteConnection connection) => SqliteConnections.TryExecute(connection, "PRAGMA wal_checkpoint(TRUNCATE)");

    private bool Admit(WriteOperation operation)
    {
        if (operation.QueuedAt < _lockTimedOutAt)
        {
            // Queued while the last batch waited for a lock it did not get.
            operation.Fail(_lockTimeout!);
            return false;
        }

        if (operation.CancellationToken.IsCancellationRequested)
        {
            operation.Cancel();
            return false;
        }

        if (operation.Waited > _options.WriteQueueTimeout)
        {
            operation.Fail(new StorageUnavailableException("The SQLite write queue is not moving (the database is locked or slow)."));
            return false;
        }

        return true;
    }

    private Exception Translate(Exception exception) =>
        exception is SqliteException sqlite && SqliteConnections.IsUnavailable(sqlite) ? SqliteConnections.Unavailable(sqlite, _options.DatabasePath) : exception;

    private void Execute(string sql) => _commands.Get(sql).ExecuteNonQuery();

    private abstract class WriteOperation(CancellationToken cancellationToken)
    {
        public long QueuedAt { get; } = Stopwatch.GetTimestamp();

        public CancellationToken CancellationToken => cancellationToken;

        public bool SingleStatement { get; init; }

        public TimeSpan Waited => Stopwatch.GetElapsedTime(QueuedAt);

        /// <summary>The write's failure, if any; the first one recorded stands (a write that failed alone keeps its own error
        /// when the batch's commit fails after it).</summary>
        protected Exception? Failure { get; private set; }

        protected bool Cancelled { get; private set; }

        public abstract void Execute(PreparedCommands commands);

        public void Fail(Exception exception) => Failure ??= exception;

        public void Cancel() => Cancelled = true;

        /// <summary>Completes the task with the recorded outcome; its continuation runs inline, on the calling thread.</summary>
        public abstract void Complete();
    }

    private sealed class WriteOperation<T>(Func<PreparedCommands, T> write, CancellationToken cancellationToken) : WriteOperation(cancellationToken)
    {
        // Completed by Complete, on a thread-pool thread, never on the writer's (see SqliteWriter.Complete).
        private readonly TaskCompletionSource<T> _completion = new();
        private T? _result;

        public Task<T> Task => _completion.Task;

        public override void Execute(PreparedCommands commands) => _result = write(commands);

        public override void Complete()
        {
            if (Failure is not null)
            {
                _completion.TrySetException(Failure);
            }
            else if (Cancelled)
            {
                _completion.TrySetCanceled(CancellationToken);
            }
            else
            {
                _completion.TrySetResult(_result!);
            }
        }
    }
}
