using System.Net.Sockets;
using Npgsql;

namespace TokenGate.Storage.Postgres;

/// <summary>Telling "the database cannot be used now" (answered with 503) from "this code is wrong" (left to surface).</summary>
internal static class PostgresFaults
{
    /// <summary>Faults that mean the database is down, unreachable, overloaded, read-only or full.</summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        PostgresException postgres => IsUnavailableState(postgres.SqlState),
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or SocketException or TimeoutException || npgsql.InnerException is null,
        IOException or SocketException or TimeoutException => true,
        _ => false,
    };

    /// <summary>Conflicts that a new attempt of the same transaction resolves (a distributed engine reports them often).</summary>
    public static bool IsRetryable(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected };

    public static StorageUnavailableException Unavailable(Exception exception, string description) =>
        new($"The PostgreSQL database {description} is unavailable: {Reason(exception)}", exception);

    /// <summary>A short reason made of the driver's messages, which never quote the connection string.</summary>
    public static string Reason(Exception exception) => exception switch
    {
        PostgresException postgres => $"{postgres.SqlState} {postgres.MessageText}",
        { InnerException: { } inner } when inner is not PostgresException => $"{exception.Message} ({inner.Message})",
        _ => exception.Message,
    };

    private static bool IsUnavailableState(string state) =>
        state.StartsWith("08", StringComparison.Ordinal)      // connection exception
        || state.StartsWith("53", StringComparison.Ordinal)   // insufficient resources: 53100 disk full, 53200 out of memory, 53300 too many connections
        || state.StartsWith("58", StringComparison.Ordinal)   // system error (I/O)
        || state.StartsWith("28", StringComparison.Ordinal)   // invalid authorization (a rotated password): nothing this request can fix
        || state is PostgresErrorCodes.AdminShutdown           // 57P01: the server is shutting down
            or PostgresErrorCodes.CrashShutdown                // 57P02
            or PostgresErrorCodes.CannotConnectNow             // 57P03: starting up or in recovery
            or "57P04"                                         // database dropped
            or "57P05"                                         // idle session timeout
            or PostgresErrorCodes.QueryCanceled                // 57014: statement_timeout on the server
            or PostgresErrorCodes.LockNotAvailable             // 55P03: lock_timeout
            or PostgresErrorCodes.ReadOnlySqlTransaction       // 25006: a standby, or a primary set read-only
            or PostgresErrorCodes.InvalidCatalogName           // 3D000: the database does not exist (yet)
            or PostgresErrorCodes.SerializationFailure         // 40001, after the retries
            or PostgresErrorCodes.DeadlockDetected;            // 40P01, after the retries
}
