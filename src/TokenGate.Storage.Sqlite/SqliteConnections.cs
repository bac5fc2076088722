using Microsoft.Data.Sqlite;

namespace TokenGate.Storage.Sqlite;

/// <summary>Opening connections with TokenGate's settings, and telling a storage fault from a bug.</summary>
internal static class SqliteConnections
{
    public static SqliteConnection Open(SqliteStoreOptions options, bool readOnly) =>
        Open(
            options.DatabasePath,
            readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            $"""
            PRAGMA busy_timeout = {(int)options.BusyTimeout.TotalMilliseconds};
            PRAGMA synchronous = {(options.FullSync ? "FULL" : "NORMAL")};
            PRAGMA foreign_keys = ON;
            """);

    /// <summary>Opens <paramref name="path"/> in <paramref name="mode"/> and runs <paramref name="pragmas"/> on it.</summary>
    public static SqliteConnection Open(string path, SqliteOpenMode mode, string pragmas)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            Pooling = false,
            // SQLite's busy handler (busy_timeout below) does the waiting. Microsoft.Data.Sqlite retries a busy statement on
            // its own until the command timeout has passed, which on top of the busy handler doubled the wait (a write blocked
            // by another process's lock got its 503 after 5 to 10 s); with 1 s it gives up after the busy handler's one wait.
            DefaultTimeout = 1,
        };

        var connection = new SqliteConnection(builder.ConnectionString);
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = pragmas;
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>SQLite already rolled back (some errors end the transaction themselves) when this fails.</summary>
    public static void TryRollback(SqliteConnection connection) => TryExecute(connection, "ROLLBACK");

    /// <summary>Runs <paramref name="sql"/>; false when SQLite refused it (busy, unavailable, nothing to undo).</summary>
    public static bool TryExecute(SqliteConnection connection, string sql)
    {
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
            return true;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    /// <summary>SQLITE_BUSY or SQLITE_LOCKED: a lock held elsewhere did not come within the busy timeout.</summary>
    public static bool IsLockTimeout(SqliteException exception) => (exception.SqliteErrorCode & 0xFF) is 5 or 6;

    /// <summary>Errors that mean "the database cannot be used right now" rather than "this code is wrong".</summary>
    public static bool IsUnavailable(SqliteException exception) => (exception.SqliteErrorCode & 0xFF) switch
    {
        5 => true,  // SQLITE_BUSY: another process holds the lock past the busy timeout
        6 => true,  // SQLITE_LOCKED
        7 => true,  // SQLITE_NOMEM
        8 => true,  // SQLITE_READONLY: the file or its directory is not writable
        10 => true, // SQLITE_IOERR
        11 => true, // SQLITE_CORRUPT
        13 => true, // SQLITE_FULL: disk or page-count limit
        14 => true, // SQLITE_CANTOPEN
        15 => true, // SQLITE_PROTOCOL
        26 => true, // SQLITE_NOTADB
        _ => false,
    };

    /// <summary>Names the file, since a start-up failure is printed before the CLI's "Using the SQLite database" line.</summary>
    public static StorageUnavailableException Unavailable(SqliteException exception, string databasePath) =>
        new($"The SQLite database {Path.GetFullPath(databasePath)} is unavailable: {exception.Message}", exception);
}
