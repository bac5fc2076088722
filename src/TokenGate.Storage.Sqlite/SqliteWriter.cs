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

    // SQLite's own default threshold is 1,000 pages; group commit writes more per transaction, so checkpoints come a little
    // less often (the WAL stays under about 16 MB plus one batch).
    private const uint FramesPerCheckpoint = 4000;
    private WalIndexHeader? _walIndex;

    public SqliteWriter(SqliteConnection connection, SqliteStoreOptions options)
    {
        _commands = new PreparedCommands(connection);
        _options = options;
        _thread = new Thread(Run) { IsBackground = true, Name = "TokenGate SQLite writer" };
        _thread.Start();
    }

    /// <summary>
    /// Queues a write. <paramref name="singleStatement"/> says the write changes the database with at most one statement, which
    /// SQLite already makes atomic: it then runs without a savepoint of its own (two statements fewer per write).
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
        _walIndex?.Dispose();
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
        var live = batch.Where(Admit).ToList();
        if (live.Count == 0)
        {
            return;
        }

        var executed = new List<WriteOperation>(live.Count);
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
                        executed.Add(operation);
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
                    executed.Add(operation);
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
            foreach (var operation in live)
            {
                operation.Fail(failure);
            }

            return;
        }

        foreach (var operation in executed)
        {
            operation.Publish();
        }

        Checkpoint();
    }

    /// <summary>
    /// Copies committed WAL pages into the database. SQLite would do it inside the commit that makes the WAL pass 1,000 pages,
    /// holding back the answers of that whole batch; here it runs after the batch has been answered, between transactions, so
    /// that it catches up completely and the next transaction starts the WAL over (it stays small under any write load). PASSIVE
    /// never waits for readers; a reader on an old snapshot only delays the restart to a later round.
    /// </summary>
    private void Checkpoint()
    {
        _walIndex ??= WalIndexHeader.TryOpen(_options.DatabasePath + "-shm");
        if (_walIndex is not null && _walIndex.Frames < FramesPerCheckpoint)
        {
            return;
        }

        try
        {
            Execute("PRAGMA wal_checkpoint(PASSIVE)");
        }
        catch (SqliteException)
        {
            // Busy or unavailable now: the next commit tries again.
        }
    }

    private bool Admit(WriteOperation operation)
    {
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

    private static Exception Translate(Exception exception) =>
        exception is SqliteException sqlite && SqliteConnections.IsUnavailable(sqlite) ? SqliteConnections.Unavailable(sqlite) : exception;

    private void Execute(string sql) => _commands.Get(sql).ExecuteNonQuery();

    private abstract class WriteOperation(CancellationToken cancellationToken)
    {
        private readonly long _queuedAt = Stopwatch.GetTimestamp();

        public CancellationToken CancellationToken => cancellationToken;

        public bool SingleStatement { get; init; }

        public TimeSpan Waited => Stopwatch.GetElapsedTime(_queuedAt);

        public abstract void Execute(PreparedCommands commands);

        public abstract void Publish();

        public abstract void Fail(Exception exception);

        public abstract void Cancel();
    }

    private sealed class WriteOperation<T>(Func<PreparedCommands, T> write, CancellationToken cancellationToken) : WriteOperation(cancellationToken)
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;

        public Task<T> Task => _completion.Task;

        public override void Execute(PreparedCommands commands) => _result = write(commands);

        public override void Publish() => _completion.TrySetResult(_result!);

        public override void Fail(Exception exception) => _completion.TrySetException(exception);

        public override void Cancel() => _completion.TrySetCanceled(CancellationToken);
    }
}
