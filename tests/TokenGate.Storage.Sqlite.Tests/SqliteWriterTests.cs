using TokenGate.Testing;

namespace TokenGate.Storage.Sqlite.Tests;

/// <summary>
/// The group-committing writer, driven directly so that a batch can be composed on purpose: a write that blocks the writer
/// thread holds the queue while the next batch is lined up behind it.
/// </summary>
public sealed class SqliteWriterTests : IDisposable
{
    private const int TestTimeout = 60_000;

    private readonly TempDirectory _directory = new("tokengate-writer");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact(Timeout = TestTimeout)]
    public async Task A_failing_write_in_a_batch_is_undone_alone_and_the_others_commit()
    {
        var (writer, path) = CreateWriter();
        using var release = new ManualResetEventSlim();
        try
        {
            var blocker = Block(writer, release);
            var first = writer.ExecuteAsync(commands => Insert(commands, "first"), Cancel);
            var failing = writer.ExecuteAsync<int>(
                commands =>
                {
                    Insert(commands, "undone");
                    throw new InvalidOperationException("this write fails after writing");
                },
                Cancel);
            var duplicate = writer.ExecuteAsync(commands => Insert(commands, "first"), Cancel);
            var last = writer.ExecuteAsync(commands => Insert(commands, "last"), Cancel);
            release.Set();
            await blocker;

            Assert.Equal(1, await first);
            var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
            Assert.Equal("this write fails after writing", failure.Message);
            await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => duplicate);
            Assert.Equal(1, await last);
            Assert.Equal(["first", "last"], SqliteFiles.AccountNames(path));
        }
        finally
        {
            release.Set();
            writer.Dispose();
        }
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_write_cancelled_while_queued_is_not_applied()
    {
        var (writer, path) = CreateWriter();
        using var release = new ManualResetEventSlim();
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        try
        {
            var blocker = Block(writer, release);
            var cancelled = writer.ExecuteAsync(commands => Insert(commands, "cancelled"), cancellation.Token);
            var kept = writer.ExecuteAsync(commands => Insert(commands, "kept"), Cancel);
            await cancellation.CancelAsync();
            release.Set();
            await blocker;

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
            Assert.Equal(1, await kept);
            Assert.Equal(["kept"], SqliteFiles.AccountNames(path));
        }
        finally
        {
            release.Set();
            writer.Dispose();
        }
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_write_that_waited_in_the_queue_too_long_is_refused_as_unavailable()
    {
        var (writer, path) = CreateWriter(queueTimeout: TimeSpan.FromSeconds(1));
        using var release = new ManualResetEventSlim();
        try
        {
            var blocker = Block(writer, release);
            var late = writer.ExecuteAsync(commands => Insert(commands, "late"), Cancel);
            await Task.Delay(TimeSpan.FromSeconds(2.5), Cancel);
            release.Set();
            await blocker;

            await Assert.ThrowsAsync<StorageUnavailableException>(() => late);
            Assert.Equal(1, await writer.ExecuteAsync(commands => Insert(commands, "prompt"), Cancel));
            Assert.Equal(["prompt"], SqliteFiles.AccountNames(path));
        }
        finally
        {
            release.Set();
            writer.Dispose();
        }
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Writes_queued_before_dispose_are_committed_and_later_ones_fail()
    {
        var (writer, path) = CreateWriter();
        var queued = Enumerable.Range(0, 20).Select(i => writer.ExecuteAsync(commands => Insert(commands, $"user-{i:D2}"), Cancel)).ToList();

        writer.Dispose();

        Assert.All(await Task.WhenAll(queued), inserted => Assert.Equal(1, inserted));
        Assert.Equal(20, SqliteFiles.AccountNames(path).Count);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => writer.ExecuteAsync(commands => Insert(commands, "late"), Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Writes_queued_while_a_batch_waited_out_a_lock_are_refused_with_it_not_after_a_wait_of_their_own()
    {
        var (writer, path) = CreateWriter(busyTimeout: TimeSpan.FromSeconds(1));
        using var locker = SqliteFiles.Open(path);
        try
        {
            // Another connection (another process, as far as SQLite's locks go) holds the write lock; "first" waits for it.
            SqliteFiles.Execute(locker, "BEGIN EXCLUSIVE");
            var first = writer.ExecuteAsync(commands => Insert(commands, "first"), Cancel);

            // Queued while "first" waits for the lock; the lock is given back as soon as "first" has been refused.
            await Task.Delay(TimeSpan.FromMilliseconds(300), Cancel);
            var queued = writer.ExecuteAsync(commands => Insert(commands, "queued"), Cancel);
            await Assert.ThrowsAsync<StorageUnavailableException>(() => first);
            SqliteFiles.Execute(locker, "ROLLBACK");

            // Without this rule "queued" would now take the free lock and succeed, after waiting as long as "first" did.
            await Assert.ThrowsAsync<StorageUnavailableException>(() => queued);
            Assert.Equal(1, await writer.ExecuteAsync(commands => Insert(commands, "after"), Cancel));
            Assert.Equal(["after"], SqliteFiles.AccountNames(path));
        }
        finally
        {
            writer.Dispose();
        }
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Every_answer_is_given_off_the_writer_thread_whatever_its_outcome()
    {
        var (writer, _) = CreateWriter();
        using var release = new ManualResetEventSlim();
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        try
        {
            // A continuation that runs where the task completes records that thread: it must never be the writer's, which would
            // otherwise run the rest of the request (and hold up every write queued behind it).
            static Task<string?> CompletedOn(Task task) =>
                task.ContinueWith(_ => Thread.CurrentThread.Name, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

            var blocker = Block(writer, release);
            var answers = new List<Task<string?>>
            {
                CompletedOn(writer.ExecuteAsync(commands => Insert(commands, "committed"), Cancel)),
                CompletedOn(writer.ExecuteAsync<int>(_ => throw new InvalidOperationException("fails alone"), Cancel)),
                CompletedOn(writer.ExecuteAsync(commands => Insert(commands, "cancelled"), cancellation.Token)),
                CompletedOn(writer.ExecuteAsync(commands => Insert(commands, "committed"), Cancel)), // a duplicate: SQLite refuses it
            };
            answers.AddRange(Enumerable.Range(0, 20).Select(i => CompletedOn(writer.ExecuteAsync(commands => Insert(commands, $"user-{i}"), Cancel))));
            await cancellation.CancelAsync();
            release.Set();
            answers.Add(CompletedOn(blocker));

            foreach (var thread in await Task.WhenAll(answers))
            {
                Assert.NotEqual("TokenGate SQLite writer", thread);
            }
        }
        finally
        {
            release.Set();
            writer.Dispose();
        }
    }

    private (SqliteWriter Writer, string Path) CreateWriter(TimeSpan? queueTimeout = null, TimeSpan? busyTimeout = null)
    {
        var path = _directory.File($"{Guid.NewGuid():N}.db");
        var defaults = new SqliteStoreOptions { DatabasePath = path };
        var options = new SqliteStoreOptions
        {
            DatabasePath = path,
            WriteQueueTimeout = queueTimeout ?? defaults.WriteQueueTimeout,
            BusyTimeout = busyTimeout ?? defaults.BusyTimeout,
        };
        var connection = SqliteConnections.Open(options, readOnly: false);
        SqliteFiles.Execute(connection, "PRAGMA journal_mode = WAL");
        SqliteSchema.Migrate(connection);
        return (new SqliteWriter(connection, options), path);
    }

    /// <summary>Queues a write that holds the writer thread until <paramref name="release"/> is set, and waits until it does.</summary>
    private static Task<int> Block(SqliteWriter writer, ManualResetEventSlim release)
    {
        using var started = new ManualResetEventSlim();
        var blocker = writer.ExecuteAsync(
            _ =>
            {
                started.Set();
                release.Wait(TimeSpan.FromSeconds(30));
                return 0;
            },
            Cancel);
        Assert.True(started.Wait(TimeSpan.FromSeconds(10), Cancel));
        return blocker;
    }

    private static int Insert(PreparedCommands commands, string name) =>
        commands.Get("INSERT INTO accounts (name, password_hash, created_at) VALUES ($name, 'hash', 0)").With("$name", name).ExecuteNonQuery();
}
