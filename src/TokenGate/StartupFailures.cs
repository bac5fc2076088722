using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Npgsql;
using TokenGate.Security;

namespace TokenGate.Cli;

/// <summary>
/// The failures an operator can fix at start (of <c>serve</c> or of any command), each as one or two lines that name the cause
/// and the fix, and the exit code the README lists: 2 for configuration (settings, files, the key, where to listen), 3 for
/// storage. Anything else is a bug and is left to surface with its stack trace.
/// </summary>
internal static partial class StartupFailures
{
    /// <summary>The lines (without <c>error: </c>) and exit code for <paramref name="exception"/>, or null when it is not one an operator can fix.</summary>
    public static (int ExitCode, IReadOnlyList<string> Lines)? Describe(Exception exception) => exception switch
    {
        TokenGateConfigurationException configuration => (ExitCodes.BadConfiguration, configuration.Errors),
        SealingKeyException or StorageSchemaException => (ExitCodes.BadConfiguration, [exception.Message]),
        StorageUnavailableException storage => (ExitCodes.StorageUnavailable, [WithFix(storage)]),
        MissingDatabaseException => (ExitCodes.StorageUnavailable, [exception.Message]),
        _ when Listening(exception) is { } socket => (ExitCodes.BadConfiguration, [CannotListen(exception, socket)]),

        // E.g. the database's folder cannot be created because a file stands in its path.
        IOException => (ExitCodes.StorageUnavailable, [$"cannot open or create a file TokenGate needs: {exception.Message}"]),
        UnauthorizedAccessException => (ExitCodes.StorageUnavailable, [$"{exception.Message.TrimEnd('.')}; give this user access to it, or choose another path."]),
        _ => null,
    };

    private static SocketException? Listening(Exception exception) =>
        exception is SocketException or IOException && exception.GetBaseException() is SocketException socket ? socket : null;

    private static string CannotListen(Exception exception, SocketException socket)
    {
        var address = BindAddress().Match(exception.Message) is { Success: true } match ? $" on {match.Groups[1].Value}" : string.Empty;
        return socket.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse => $"cannot listen{address}: the address is already in use; stop the process that holds it, or choose another port with --urls.",
            SocketError.AccessDenied => $"cannot listen{address}: permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE, so choose a port above 1023 with --urls.",
            SocketError.AddressNotAvailable => $"cannot listen{address}: no network interface of this machine has that address; use one it has in --urls (127.0.0.1, 0.0.0.0).",
            _ => $"cannot listen{address}: {socket.Message.TrimEnd('.')}; check --urls.",
        };
    }

    /// <summary>The store's message (which names the database, never a password) and what to do about it.</summary>
    private static string WithFix(StorageUnavailableException exception)
    {
        var fix = exception.InnerException switch
        {
            PostgresException { SqlState: "28P01" or "28000" } => "check the user name and password in --database (TOKENGATE_DATABASE).",
            PostgresException { SqlState: "3D000" } => "create the database, or name an existing one in --database.",
            NpgsqlException { InnerException: SocketException or IOException or TimeoutException } or NpgsqlException { InnerException: null }
                => "check that PostgreSQL is running and that --database names its host and port.",
            SqliteException sqlite => (sqlite.SqliteErrorCode & 0xFF) switch
            {
                5 or 6 => "another process holds a lock on it; wait for it to finish, or stop it.",
                8 or 14 => "check the path and that this user may write the file and its folder.",
                11 or 26 => "it is not a TokenGate database (or it is damaged); check --database.",
                _ => null,
            },
            _ => null,
        };
        var message = exception.Message.TrimEnd();
        return fix is null ? message : $"{message.TrimEnd('.')}; {fix}";
    }

    [GeneratedRegex(@"address (\S+?): ")]
    private static partial Regex BindAddress();
}
