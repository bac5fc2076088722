using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace TokenGate.Storage.Sqlite;

/// <summary>
/// Tells the revocation epoch cheaply enough to ask on every request. <c>PRAGMA data_version</c> on a connection changes whenever
/// any other connection — this process's writer or another process such as the operator CLI — has committed; only then is the
/// epoch row read again. So a revocation committed anywhere is seen by the very next request.
/// <para>
/// Even that PRAGMA costs a read transaction (file locks on the <c>-shm</c> file), too much for every request. So first the
/// WAL-index header is read from the <c>-shm</c> file, mapped read-only: SQLite rewrites that header on every commit (its format is
/// documented: https://sqlite.org/walformat.html), so while its bytes are unchanged no commit has happened and the epoch known is
/// still right. SQLite keeps two copies of the header; when they differ (a commit in progress) or when in any doubt, the slow
/// path runs. A full check also runs at least every <see cref="FullCheckInterval"/> as a backstop.
/// </para>
/// <para>
/// The slow path borrows one of a few watch connections (per-connection state, so one caller at a time) and steps two statements
/// prepared once through SQLite's C API. The epoch only grows; whichever connection sees a new value publishes it to all.
/// </para>
/// </summary>
internal sealed class SqliteRevocationWatch(SqliteStoreOptions options) : IDisposable
{
    private static readonly TimeSpan FullCheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentBag<Watcher> _idle = [];
    private readonly Lock _mapLock = new();
    private WalIndexHeader? _header;
    private HeaderSnapshot? _lastHeader;
    private long _epoch = long.MinValue;
    private volatile bool _disposed;

    public long? Observe()
    {
        if (_disposed)
        {
            return null;
        }

        // The fast path: the WAL-index header has not changed since the epoch was last read.
        var header = _header;
        var last = Volatile.Read(ref _lastHeader);
        Span<byte> current = stackalloc byte[WalIndexHeader.Length];
        var readHeader = header is not null && header.TryRead(current);
        if (readHeader && last is not null && current.SequenceEqual(last.Bytes) && Stopwatch.GetElapsedTime(last.CheckedAt) < FullCheckInterval)
        {
            return Volatile.Read(ref _epoch);
        }

        var epoch = ObserveSlowly();
        if (epoch is not null && readHeader)
        {
            // The header read before the slow path: a commit after it changes the header again, so the next call looks again.
            Volatile.Write(ref _lastHeader, new HeaderSnapshot(current.ToArray(), Stopwatch.GetTimestamp()));
        }
        else if (epoch is not null && header is null)
        {
            MapHeader();
        }

        return epoch;
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var watcher))
        {
            watcher.Dispose();
        }

        lock (_mapLock)
        {
            _header?.Dispose();
            _header = null;
        }
    }

    private long? ObserveSlowly()
    {
        Watcher? watcher = null;
        try
        {
            watcher = _idle.TryTake(out var idle) ? idle : new Watcher(SqliteConnections.Open(options, readOnly: true));
            if (watcher.TryRead(out var observed))
            {
                Publish(observed);
            }

            var epoch = Volatile.Read(ref _epoch);
            Return(watcher);
            return epoch == long.MinValue ? null : epoch;
        }
        catch (SqliteException)
        {
            // Cannot tell now: callers read the store, which reports the fault itself.
            watcher?.Dispose();
            Volatile.Write(ref _lastHeader, null);
            return null;
        }
    }

    private void MapHeader()
    {
        lock (_mapLock)
        {
            if (_header is null && !_disposed)
            {
                _header = WalIndexHeader.TryOpen(options.DatabasePath + "-shm");
            }
        }
    }

    private void Publish(long observed)
    {
        var current = Volatile.Read(ref _epoch);
        while (observed > current)
        {
            var seen = Interlocked.CompareExchange(ref _epoch, observed, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private void Return(Watcher watcher)
    {
        if (_disposed || _idle.Count >= Environment.ProcessorCount * 4)
        {
            watcher.Dispose();
        }
        else
        {
            _idle.Add(watcher);
        }
    }

    private sealed record HeaderSnapshot(byte[] Bytes, long CheckedAt);

    /// <summary>One read-only connection with its two prepared statements and the data version it last saw.</summary>
    private sealed class Watcher : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly sqlite3_stmt _dataVersion;
        private readonly sqlite3_stmt _readEpoch;
        private long _lastDataVersion = long.MinValue;

        public Watcher(SqliteConnection connection)
        {
            _connection = connection;
            _dataVersion = Prepare("PRAGMA data_version");
            _readEpoch = Prepare("SELECT revocation_epoch FROM meta");
        }

        /// <summary>True with the epoch when this connection sees a commit since its last look (or looks for the first time).</summary>
        public bool TryRead(out long epoch)
        {
            var dataVersion = Step(_dataVersion);
            if (dataVersion == _lastDataVersion)
            {
                epoch = 0;
                return false;
            }

            epoch = Step(_readEpoch);
            _lastDataVersion = dataVersion;
            return true;
        }

        public void Dispose()
        {
            _dataVersion.Dispose();
            _readEpoch.Dispose();
            _connection.Dispose();
        }

        private sqlite3_stmt Prepare(string sql)
        {
            Check(raw.sqlite3_prepare_v2(_connection.Handle, sql, out var statement));
            return statement;
        }

        private long Step(sqlite3_stmt statement)
        {
            try
            {
                var result = raw.sqlite3_step(statement);
                if (result != raw.SQLITE_ROW)
                {
                    Check(result);
                    throw new SqliteException("The statement returned no row.", raw.SQLITE_ERROR);
                }

                return raw.sqlite3_column_int64(statement, 0);
            }
            finally
            {
                raw.sqlite3_reset(statement);
            }
        }

        private void Check(int result)
        {
            if (result is not (raw.SQLITE_OK or raw.SQLITE_ROW or raw.SQLITE_DONE))
            {
                throw new SqliteException(raw.sqlite3_errmsg(_connection.Handle).utf8_to_string(), result);
            }
        }
    }
}
