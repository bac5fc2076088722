using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace TokenGate.Storage.Postgres;

/// <summary>
/// What <c>--database</c> means when it names a PostgreSQL database: a <c>postgres://</c> (or <c>postgresql://</c>) URI as libpq
/// reads it, or an Npgsql <c>Key=Value;...</c> string with a <c>Host</c>. Both become one Npgsql connection string with
/// TokenGate's defaults for whatever the operator left out. Nothing here ever puts the password into a message.
/// </summary>
public static partial class PostgresConnectionString
{
    /// <summary>
    /// Seconds to wait for a connection (also for a free one from the pool). A server that is down refuses at once and a
    /// stopping one says so; this bounds the rest (a host that does not answer) while leaving room for a busy instance, whose
    /// connection setup competes with password hashing for the CPU.
    /// </summary>
    public const int DefaultConnectTimeout = 5;

    /// <summary>Seconds a statement may run before the request is refused as unavailable.</summary>
    public const int DefaultCommandTimeout = 5;

    /// <summary>Connections per instance. Instances × (this + 2) must stay under the server's <c>max_connections</c>.</summary>
    public const int DefaultMaxPoolSize = 32;

    public const string DefaultApplicationName = "tokengate";

    // libpq's URI query parameters and the Npgsql keywords they mean.
    private static readonly Dictionary<string, string> UriParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sslmode"] = "SSL Mode",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password",
        ["connect_timeout"] = "Timeout",
        ["application_name"] = "Application Name",
        ["target_session_attrs"] = "Target Session Attributes",
        ["options"] = "Options",
        ["user"] = "Username",
        ["password"] = "Password",
        ["dbname"] = "Database",
        ["host"] = "Host",
        ["port"] = "Port",
    };

    /// <summary>Whether <c>--database</c> names a PostgreSQL database rather than a SQLite file.</summary>
    public static bool IsConnectionString(string? database) =>
        database is not null
        && (database.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || database.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || HostKey().IsMatch(database));

    /// <summary>Parses <paramref name="database"/> and applies TokenGate's defaults; false with a message (never holding the
    /// password) when it cannot be used.</summary>
    public static bool TryParse(string database, out NpgsqlConnectionStringBuilder builder, out string? error)
    {
        try
        {
            builder = Parse(database);
            error = null;
            return true;
        }
        catch (FormatException exception)
        {
            builder = new NpgsqlConnectionStringBuilder();
            error = exception.Message;
            return false;
        }
    }

    /// <summary>Parses <paramref name="database"/> and applies TokenGate's defaults. Throws <see cref="FormatException"/> with a
    /// message that never holds the password.</summary>
    public static NpgsqlConnectionStringBuilder Parse(string database)
    {
        NpgsqlConnectionStringBuilder builder;
        var password = PasswordOf(database);
        try
        {
            builder = database.Contains("://", StringComparison.Ordinal) ? FromUri(database) : new NpgsqlConnectionStringBuilder(database);
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            throw new FormatException($"not a usable PostgreSQL connection string: {Scrub(exception.Message, password)}");
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new FormatException("the PostgreSQL connection string names no host.");
        }

        var given = Keys(database);
        SetDefault(builder, given, ["timeout", "connect timeout", "connect_timeout"], b => b.Timeout = DefaultConnectTimeout);
        SetDefault(builder, given, ["command timeout", "commandtimeout"], b => b.CommandTimeout = DefaultCommandTimeout);
        SetDefault(builder, given, ["maximum pool size", "max pool size", "maxpoolsize"], b => b.MaxPoolSize = DefaultMaxPoolSize);
        SetDefault(builder, given, ["application name", "applicationname", "application_name"], b => b.ApplicationName = DefaultApplicationName);

        // Statements are few and repeated on every request: let Npgsql prepare them on each connection.
        SetDefault(builder, given, ["max auto prepare", "maxautoprepare"], b => b.MaxAutoPrepare = 32);
        // A connection returned to the pool keeps its session: TokenGate sets none on pooled connections (its LISTEN has a
        // connection of its own, its advisory locks end with their transaction), and Npgsql still rolls back a transaction left
        // open. The reset Npgsql would otherwise prepend to the next use is five statements more on every batch and lookup
        // (get-new on PostgreSQL 8-10% faster without it, side by side: docs/PERFORMANCE.md).
        SetDefault(builder, given, ["no reset on close", "noresetonclose"], b => b.NoResetOnClose = true);
        return builder;
    }

    /// <summary>Where a connection string points, for logs: hosts, ports and database only — never the user or password.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder)
    {
        var hosts = (builder.Host ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(host => host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('/') ? host : $"{host}:{builder.Port}");
        return $"{string.Join(",", hosts)}/{builder.Database ?? "(default database)"}";
    }

    /// <summary><see cref="Describe(NpgsqlConnectionStringBuilder)"/> of a raw value, or a neutral text when it does not parse.</summary>
    public static string Describe(string database) =>
        TryParse(database, out var builder, out _) ? Describe(builder) : "(an unusable PostgreSQL connection string)";

    private static NpgsqlConnectionStringBuilder FromUri(string uri)
    {
        var scheme = uri.IndexOf("://", StringComparison.Ordinal);
        if (!uri[..scheme].Equals("postgres", StringComparison.OrdinalIgnoreCase) && !uri[..scheme].Equals("postgresql", StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException("a connection URI must start with postgres:// or postgresql://.");
        }

        var rest = uri[(scheme + 3)..];
        var query = string.Empty;
        var queryAt = rest.IndexOf('?', StringComparison.Ordinal);
        if (queryAt >= 0)
        {
            query = rest[(queryAt + 1)..];
            rest = rest[..queryAt];
        }

        var path = string.Empty;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            path = rest[(slash + 1)..];
            rest = rest[..slash];
        }

        var builder = new NpgsqlConnectionStringBuilder();
        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = rest[..at];
            rest = rest[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Unescape(colon >= 0 ? userInfo[..colon] : userInfo);
            if (colon >= 0)
            {
                builder.Password = Unescape(userInfo[(colon + 1)..]);
            }
        }

        if (rest.Length > 0)
        {
            var hosts = rest.Split(',').Select(ParseHost).ToList();
            if (hosts.Count == 1)
            {
                builder.Host = hosts[0].Host;
                if (hosts[0].Port is { } port)
                {
                    builder.Port = port;
                }
            }
            else
            {
                builder.Host = string.Join(",", hosts.Select(h => h.Port is { } port ? $"{h.Host}:{port}" : h.Host));
            }
        }

        if (path.Length > 0)
        {
            builder.Database = Unescape(path);
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"the URI parameter '{Unescape(pair)}' has no value.");
            }

            var name = Unescape(pair[..equals]);
            var value = Unescape(pair[(equals + 1)..]);
            var keyword = UriParameters.GetValueOrDefault(name, name);
            if (keyword == "SSL Mode")
            {
                value = value.Replace("-", string.Empty, StringComparison.Ordinal);
            }

            try
            {
                builder[keyword] = value;
            }
            catch (ArgumentException)
            {
                throw new FormatException($"the URI parameter '{name}' is not one TokenGate understands (use libpq's names, e.g. sslmode, or Npgsql's keywords).");
            }
        }

        return builder;
    }

    private static (string Host, int? Port) ParseHost(string text)
    {
        text = Unescape(text);
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException("an IPv6 host in the URI lacks its closing bracket.");
            }

            var host = text[1..close];
            return text.Length > close + 1 && text[close + 1] == ':' ? (host, ParsePort(text[(close + 2)..])) : (host, null);
        }

        var colon = text.LastIndexOf(':');
        return colon >= 0 ? (text[..colon], ParsePort(text[(colon + 1)..])) : (text, null);
    }

    private static int ParsePort(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new FormatException($"'{text}' is not a port number.");

    private static string Unescape(string text) => Uri.UnescapeDataString(text);

    /// <summary>The keywords the operator wrote (lower case), so that defaults never override them.</summary>
    private static HashSet<string> Keys(string database)
    {
        var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (database.Contains("://", StringComparison.Ordinal))
        {
            var queryAt = database.IndexOf('?', StringComparison.Ordinal);
            if (queryAt >= 0)
            {
                foreach (var pair in database[(queryAt + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
                {
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    keys.Add(Unescape(equals > 0 ? pair[..equals] : pair).Trim());
                }
            }

            return keys;
        }

        foreach (var pair in database.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                keys.Add(pair[..equals].Trim());
            }
        }

        return keys;
    }

    private static void SetDefault(NpgsqlConnectionStringBuilder builder, HashSet<string> given, string[] names, Action<NpgsqlConnectionStringBuilder> apply)
    {
        if (!names.Any(given.Contains))
        {
            apply(builder);
        }
    }

    /// <summary>The password as written, to scrub it from any message that might quote it.</summary>
    private static string? PasswordOf(string database)
    {
        try
        {
            if (database.Contains("://", StringComparison.Ordinal))
            {
                var match = UriPassword().Match(database);
                return match.Success ? Unescape(match.Groups[1].Value) : null;
            }

            var found = KeyValuePassword().Match(database);
            return found.Success ? found.Groups[1].Value.Trim() : null;
        }
        catch (UriFormatException)
        {
            return null;
        }
    }

    private static string Scrub(string message, string? password) =>
        string.IsNullOrEmpty(password) ? message : message.Replace(password, "***", StringComparison.Ordinal);

    [GeneratedRegex(@"(^|;)\s*(host|server)\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HostKey();

    [GeneratedRegex(@"^[^:/]+://[^:@/]*:([^@/]*)@", RegexOptions.CultureInvariant)]
    private static partial Regex UriPassword();

    [GeneratedRegex(@"(?:^|;)\s*(?:password|pwd|psw)\s*=([^;]*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeyValuePassword();
}
