using Microsoft.Data.Sqlite;

namespace TokenGate.Storage.Sqlite;

/// <summary>
/// Tells the revocation epoch cheaply enough to ask on every request. <c>PRAGMA data_version</c> on a connection of its own
/// changes whenever any other connection — this process's writer or another process such as the operator CLI — commits; only
/// then is the epoch row read again. So a revocation committed anywhere is seen by the very next request.
/// </summary>
internal sealed class SqliteRevocationWatch(SqliteStoreOptions options) : IDisposable
{
    private readonly Lock _lock = new();
    private PreparedCommands? _commands;
    private long _dataVersion = long.MinValue;
    private long _epoch;

    public long? Observe()
    {
        lock (_lock)
        {
            try
            {
                _commands ??= new PreparedCommands(SqliteConnections.Open(options, readOnly: true));
                var dataVersion = (long)_commands.Get("PRAGMA data_version").ExecuteScalar()!;
                if (dataVersion != _dataVersion)
                {
                    _epoch = (long)_commands.Get("SELECT revocation_epoch FROM meta").ExecuteScalar()!;
                    _dataVersion = dataVersion;
                }

                return _epoch;
            }
            catch (SqliteException)
            {
                // Cannot tell now: callers read the store, which reports the fault itself.
                _commands?.Dispose();
                _commands = null;
                _dataVersion = long.MinValue;
                return null;
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _commands?.Dispose();
            _commands = null;
        }
    }
}
