using Microsoft.Data.Sqlite;

namespace TokenGate.Storage.Sqlite;

/// <summary>
/// A consistent copy of a live database with SQLite's online backup API (<c>sqlite3_backup</c>): every page copied in one step
/// under a read transaction, so the copy is one committed state, taken while the server goes on serving (a WAL reader never
/// blocks the writer). The copy is written beside its destination, checked, and then renamed over it, so the destination is
/// either the previous file or a complete new one; it is created readable by its owner only (it holds password hashes).
/// </summary>
public static class SqliteBackup
{
    /// <summary>Copies <paramref name="databasePath"/> to <paramref name="destinationPath"/>; returns the copy's size in bytes.</summary>
    /// <exception cref="StorageUnavailableException">The database cannot be read, or the copy cannot be written or is damaged.</exception>
    public static long Create(string databasePath, string destinationPath, TimeSpan busyTimeout)
    {
        var destination = Path.GetFullPath(destinationPath);
        var partial = Path.Combine(Path.GetDirectoryName(destination) ?? ".", $".{Path.GetFileName(destination)}.{Guid.NewGuid():N}.partial");
        try
        {
            using (File.Create(partial, 0, FileOptions.None))
            {
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(partial, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            // ReadWrite without Create: a missing database is an error, not a new empty file.
            using (var source = Open(databasePath, busyTimeout))
            using (var copy = Open(partial, busyTimeout))
            {
                source.BackupDatabase(copy);
                using var check = copy.CreateCommand();
                check.CommandText = "PRAGMA quick_check";
                if (check.ExecuteScalar() is not "ok")
                {
                    throw new StorageUnavailableException($"The copy of the SQLite database {Path.GetFullPath(databasePath)} failed its integrity check; the database may be damaged.");
                }

                // The copy stands alone: no -wal beside it to carry along.
                using var journal = copy.CreateCommand();
                journal.CommandText = "PRAGMA journal_mode = DELETE";
                journal.ExecuteNonQuery();
            }

            File.Move(partial, destination, overwrite: true);
            return new FileInfo(destination).Length;
        }
        catch (SqliteException exception)
        {
            throw new StorageUnavailableException($"The SQLite database {Path.GetFullPath(databasePath)} cannot be backed up to {destination}: {exception.Message}", exception);
        }
        finally
        {
            if (File.Exists(partial))
            {
                File.Delete(partial);
            }
        }
    }

    private static SqliteConnection Open(string path, TimeSpan busyTimeout) =>
        SqliteConnections.Open(path, SqliteOpenMode.ReadWrite, $"PRAGMA busy_timeout = {(int)busyTimeout.TotalMilliseconds}");
}
