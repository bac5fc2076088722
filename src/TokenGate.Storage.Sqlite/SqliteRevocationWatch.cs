using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace TokenGate.Storage.Sqlite;

/// <summary>
/// Tells the revocation epoch cheaply enough to ask on every request. <c>PRAGMA data_version</c> on a connection changes whenever
/// any other connection — this process's writer or another process such as the operator CLI — has committed; only then is the
/// epoch row read again. So a revocation committed anywhere is seen by the very next request.
/// <para>
/// It runs on every request, so it avoids both a shared lock and ADO.NET's per-command overhead: each caller borrows one of a few
/// watch connections (per-connection state, so one caller at a time) and steps two statements prepared once through SQLite's C
/// API. The epoch only grows; whichever connection sees a new value publishes it to all.
/// </para>
/// </summary>
internal sealed class SqliteRevocationWatch(SqliteStoreOptions options) : IDisposable
{
    private readonly ConcurrentBag<Watcher> _idle = [];
    private long _epoch = long.MinValue;
    private volatile bool _disposed;

    public long? Observe()
    {
        if (_disposed)
        {
            return null;
        }

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
            return null;
        }
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var watcher))
        {
            watcher.Dispose();
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
