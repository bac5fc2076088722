using TokenGate.Storage.Postgres;
using TokenGate.Storage.Sqlite;

namespace TokenGate.Server.Hosting;

/// <summary>
/// Chooses the store from the <c>--database</c> value: a PostgreSQL connection string (a <c>postgres://</c> or
/// <c>postgresql://</c> URI, or <c>Key=Value;...</c> with a <c>Host</c>) means the shared PostgreSQL store; anything else is the
/// path of the embedded SQLite file.
/// </summary>
public static class TokenGateStores
{
    public static bool IsPostgres(string database) => PostgresConnectionString.IsConnectionString(database);

    public static ITokenGateStore Create(string database, ILoggerFactory? loggerFactory = null) =>
        IsPostgres(database)
            ? new PostgresTokenGateStore(new PostgresStoreOptions { ConnectionString = database, LoggerFactory = loggerFactory })
            : new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = database });

    /// <summary>The schema version a started store of this database is at (the latest this build knows).</summary>
    public static int SchemaVersion(string database) => IsPostgres(database) ? PostgresTokenGateStore.SchemaVersion : SqliteTokenGateStore.SchemaVersion;

    /// <summary>The database for logs: the SQLite file's full path, or PostgreSQL's hosts, ports and database (never credentials).</summary>
    public static string Describe(string database) =>
        IsPostgres(database)
            ? $"the PostgreSQL database {PostgresConnectionString.Describe(database)}"
            : $"the SQLite database {Path.GetFullPath(database)}";
}
