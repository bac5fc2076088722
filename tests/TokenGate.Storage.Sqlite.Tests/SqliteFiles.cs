using Microsoft.Data.Sqlite;

namespace TokenGate.Storage.Sqlite.Tests;

/// <summary>Raw access to a database file, the way another process (or an older build) would see it.</summary>
internal static class SqliteFiles
{
    /// <summary>
    /// Makes a database written by a test (under the runner's umask) 0600 with its -wal and -shm, as an operator's is: serve
    /// refuses a database others may read.
    /// </summary>
    public static void MakePrivate(string directory, string name = "tokengate.db")
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        foreach (var file in new[] { name, name + "-wal", name + "-shm" }.Select(n => Path.Combine(directory, n)).Where(File.Exists))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    public static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        connection.Open();
        return connection;
    }

    public static object? Scalar(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command.ExecuteScalar();
    }

    public static void Execute(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters) =>
        Scalar(connection, sql, parameters);

    public static long UserVersion(string path)
    {
        using var connection = Open(path);
        return (long)Scalar(connection, "PRAGMA user_version")!;
    }

    public static List<string> AccountNames(string path)
    {
        using var connection = Open(path);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM accounts ORDER BY name";
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }
}
