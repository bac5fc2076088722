using System.Net;
using Microsoft.Extensions.Configuration;
using TokenGate.Accounts;
using TokenGate.Configuration;
using TokenGate.Server.Security;
using TokenGate.Storage.Postgres;
using TokenGate.Tokens;

namespace TokenGate.Server.Hosting;

/// <summary>
/// Everything <c>tokengate serve</c> is configured with, read from the <c>TokenGate</c> configuration section (fed by
/// appsettings.json, <c>TOKENGATE_*</c> environment variables and command-line options, in rising precedence) and checked once.
/// </summary>
public sealed record TokenGateSettings
{
    public const string DefaultUrls = "http://127.0.0.1:5080";
    public const string DefaultDatabase = "data/tokengate.db";
    public const string KeyFileName = "tokengate.key";

    public string Urls { get; init; } = DefaultUrls;

    /// <summary>The SQLite file path (the embedded default), or a PostgreSQL connection string (a <c>postgres://</c> URI or
    /// <c>Host=...;...</c>) for a store shared by several instances.</summary>
    public string Database { get; init; } = DefaultDatabase;

    /// <summary>Whether <see cref="Database"/> names a PostgreSQL database.</summary>
    public bool IsPostgres => TokenGateStores.IsPostgres(Database);

    /// <summary>The sealing key file; by default <c>tokengate.key</c> beside the SQLite database. With PostgreSQL there is no
    /// "beside": serve requires this or <see cref="SealingKey"/>, so that every instance is given the same key.</summary>
    public string? KeyFile { get; init; }

    /// <summary>The sealing key as base64; when set, no key file is read or created.</summary>
    public string? SealingKey { get; init; }

    public TimeSpan TokenLifetime { get; init; } = TokenPolicyOptions.DefaultLifetime;

    public TimeSpan ExpiredRetention { get; init; } = TokenPolicyOptions.DefaultExpiredRetention;

    public IReadOnlyList<IPNetwork> TrustedProxies { get; init; } = [];

    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long audit entries are kept before the sweeper deletes them.</summary>
    public TimeSpan AuditRetention { get; init; } = TimeSpan.FromDays(90);

    public int SweepBatchSize { get; init; } = 500;

    public int MaxActiveTokensPerAccount { get; init; } = TokenPolicyOptions.DefaultMaxActiveTokensPerAccount;

    /// <summary>
    /// Open connections Kestrel holds at once; past it new connections are closed at once. An idle keep-alive connection is held
    /// up to 60 s, so without a cap anyone could open connections until the process runs out of file descriptors.
    /// </summary>
    public int MaxConnections { get; init; } = ServerLimits.DefaultMaxConnections;

    public int PasswordMinLength { get; init; } = 8;

    public int PasswordMaxLength { get; init; } = 128;

    public int PasswordHashIterations { get; init; } = IdentityPasswordHasher.DefaultIterations;

    /// <summary>Whether validated tokens, verified credentials and current tokens are cached in memory (revocation-safe).</summary>
    public bool Cache { get; init; } = true;

    /// <summary>How long a verified username and password spares a repeated <c>get</c> its PBKDF2 run; 0 turns that cache off.</summary>
    public TimeSpan CredentialCacheLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Refuse a <c>get</c> or <c>newpass</c> whose password arrives in the query string (<c>Bad argument: password</c>).</summary>
    public bool RequirePostCredentials { get; init; }

    /// <summary>Brute-force protection of <c>get</c> and <c>newpass</c>.</summary>
    public LoginThrottleOptions LoginThrottle { get; init; } = new();

    /// <summary>A certificate for HTTPS: a PKCS#12 file (.pfx/.p12, with <see cref="CertificatePassword"/>) or a PEM file.</summary>
    public string? Certificate { get; init; }

    public string? CertificatePassword { get; init; }

    /// <summary>The PEM private key when it is not in the <see cref="Certificate"/> file.</summary>
    public string? CertificateKey { get; init; }

    /// <summary>Where to send metrics over OTLP/HTTP (a collector's base URL, e.g. http://127.0.0.1:4318); none by default.</summary>
    public Uri? OtlpEndpoint { get; init; }

    public TimeSpan OtlpExportInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Console log format: <c>text</c> (the default) or <c>json</c> (one JSON object per line).</summary>
    public string LogFormat { get; init; } = "text";

    /// <summary>One redacted line per request (category TokenGate.Requests).</summary>
    public bool RequestLog { get; init; }

    public Caching.TokenCacheOptions CacheOptions => new()
    {
        Enabled = Cache,
        CredentialLifetime = CredentialCacheLifetime,
    };

    public string ResolvedKeyFile => KeyFile ?? (IsPostgres
        ? Path.GetFullPath(Path.Combine("data", KeyFileName))
        : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(Database)) ?? ".", KeyFileName));

    public TokenPolicyOptions TokenPolicy => new()
    {
        Lifetime = TokenLifetime,
        ExpiredRetention = ExpiredRetention,
        MaxActiveTokensPerAccount = MaxActiveTokensPerAccount,
    };

    public PasswordPolicy PasswordPolicy => new(PasswordMinLength, PasswordMaxLength);

    /// <summary>Reads and checks the settings; every problem found is reported at once.</summary>
    public static TokenGateSettings FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection(TokenGateConfiguration.SectionName);
        var errors = new List<string>();
        var defaults = new TokenGateSettings();

        var settings = new TokenGateSettings
        {
            Urls = NonEmpty(section["Urls"]) ?? NonEmpty(configuration["urls"]) ?? DefaultUrls,
            Database = NonEmpty(section["Database"]) ?? DefaultDatabase,
            KeyFile = NonEmpty(section["KeyFile"]),
            SealingKey = NonEmpty(section["SealingKey"]),
            TokenLifetime = ReadDuration(section, "TokenLifetime", "--token-lifetime", defaults.TokenLifetime, errors),
            ExpiredRetention = ReadDuration(section, "ExpiredRetention", "--expired-retention", defaults.ExpiredRetention, errors),
            TrustedProxies = ReadNetworks(section, errors),
            SweepInterval = ReadDuration(section, "SweepInterval", "TOKENGATE_SWEEP_INTERVAL", defaults.SweepInterval, errors),
            AuditRetention = ReadDuration(section, "AuditRetention", "--audit-retention", defaults.AuditRetention, errors),
            SweepBatchSize = ReadInt(section, "SweepBatchSize", defaults.SweepBatchSize, 1, 100_000, errors),
            MaxActiveTokensPerAccount = ReadInt(section, "MaxActiveTokensPerAccount", defaults.MaxActiveTokensPerAccount, 1, 10_000_000, errors),
            MaxConnections = ReadInt(section, "MaxConnections", defaults.MaxConnections, 1, 1_000_000, errors),
            PasswordMinLength = ReadInt(section, "PasswordMinLength", defaults.PasswordMinLength, 1, 1024, errors),
            PasswordMaxLength = ReadInt(section, "PasswordMaxLength", defaults.PasswordMaxLength, 1, 1024, errors),
            PasswordHashIterations = ReadInt(section, "PasswordHashIterations", defaults.PasswordHashIterations, IdentityPasswordHasher.MinimumIterations, 10_000_000, errors),
            Cache = ReadBool(section, "Cache", defaults.Cache, errors),
            CredentialCacheLifetime = ReadDuration(section, "CredentialCacheLifetime", "TOKENGATE_CREDENTIAL_CACHE_LIFETIME", defaults.CredentialCacheLifetime, errors),
            RequirePostCredentials = ReadBool(section, "RequirePostCredentials", defaults.RequirePostCredentials, errors),
            LoginThrottle = ReadThrottle(section, errors),
            Certificate = NonEmpty(section["Certificate"]),
            CertificatePassword = section["CertificatePassword"],
            CertificateKey = NonEmpty(section["CertificateKey"]),
            OtlpEndpoint = ReadUri(section, "OtlpEndpoint", "--otlp-endpoint", errors),
            OtlpExportInterval = ReadDuration(section, "OtlpExportInterval", "TOKENGATE_OTLP_EXPORT_INTERVAL", defaults.OtlpExportInterval, errors),
            LogFormat = ReadChoice(section, "LogFormat", "--log-format", defaults.LogFormat, ["text", "json"], errors),
            RequestLog = ReadBool(section, "RequestLog", defaults.RequestLog, errors),
        };

        if (settings.IsPostgres && !PostgresConnectionString.TryParse(settings.Database, out _, out var databaseError))
        {
            errors.Add($"--database ({TokenGateConfiguration.SectionName}:Database): {databaseError}");
        }

        if (settings.Certificate is { } certificate && !File.Exists(certificate))
        {
            errors.Add($"--certificate: the file '{certificate}' does not exist.");
        }

        if (settings.CertificateKey is { } key && !File.Exists(key))
        {
            errors.Add($"--certificate-key: the file '{key}' does not exist.");
        }

        if (settings.PasswordMaxLength < settings.PasswordMinLength)
        {
            errors.Add("PasswordMaxLength must not be less than PasswordMinLength.");
        }

        if (settings.TokenLifetime < TimeSpan.FromSeconds(1) || settings.TokenLifetime > TimeSpan.FromDays(366))
        {
            errors.Add($"--token-lifetime ({TokenGateConfiguration.SectionName}:TokenLifetime): {Durations.Format(settings.TokenLifetime)} is out of range; use 1 second to 366 days.");
        }

        if (settings.ExpiredRetention > TimeSpan.FromDays(3660))
        {
            errors.Add($"--expired-retention ({TokenGateConfiguration.SectionName}:ExpiredRetention): {Durations.Format(settings.ExpiredRetention)} is out of range; use 0 to 3660 days.");
        }

        if (settings.SweepInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add("SweepInterval must be at least 1 second.");
        }

        return errors.Count == 0 ? settings : throw new TokenGateConfigurationException(errors);
    }

    /// <summary>
    /// What <c>serve</c> needs beyond what operator commands need. Instances on one PostgreSQL database must share the sealing key
    /// (else one instance cannot hand back a token another issued, and <c>get</c> answers differ by instance), and no file is
    /// "beside" a PostgreSQL database, so the key must be named: a file every instance reads, or the key itself.
    /// </summary>
    public void EnsureServable()
    {
        if (IsPostgres && KeyFile is null && SealingKey is null)
        {
            throw new TokenGateConfigurationException(
            [
                "with a PostgreSQL database, give every instance the same sealing key: --key-file PATH (TOKENGATE_KEY_FILE) or TOKENGATE_SEALING_KEY (base64 of 32 bytes).",
            ]);
        }
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static TimeSpan ReadDuration(IConfigurationSection section, string key, string option, TimeSpan fallback, List<string> errors)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (Durations.TryParse(text, out var duration))
        {
            return duration;
        }

        errors.Add($"{option} ({TokenGateConfiguration.SectionName}:{key}): '{text}' is not a duration; use seconds (3600) or a unit (90s, 15m, 12h, 7d).");
        return fallback;
    }

    private static LoginThrottleOptions ReadThrottle(IConfigurationSection section, List<string> errors)
    {
        var defaults = new LoginThrottleOptions();
        var options = new LoginThrottleOptions
        {
            Enabled = ReadBool(section, "LoginThrottle", defaults.Enabled, errors),
            Window = ReadDuration(section, "LoginWindow", "TOKENGATE_LOGIN_WINDOW", defaults.Window, errors),
            DelayAfter = ReadInt(section, "LoginDelayAfter", defaults.DelayAfter, 1, 1_000_000, errors),
            BlockAfter = ReadInt(section, "LoginBlockAfter", defaults.BlockAfter, 1, 1_000_000, errors),
            DelayAfterPerClient = ReadInt(section, "LoginDelayAfterPerClient", defaults.DelayAfterPerClient, 1, 1_000_000, errors),
            BlockAfterPerClient = ReadInt(section, "LoginBlockAfterPerClient", defaults.BlockAfterPerClient, 1, 1_000_000, errors),
            MaxDelay = ReadDuration(section, "LoginMaxDelay", "TOKENGATE_LOGIN_MAX_DELAY", defaults.MaxDelay, errors),
        };

        if (options.Window < TimeSpan.FromSeconds(1))
        {
            errors.Add("LoginWindow must be at least 1 second.");
        }

        return options;
    }

    private static Uri? ReadUri(IConfigurationSection section, string key, string option, List<string> errors)
    {
        var text = NonEmpty(section[key]);
        if (text is null)
        {
            return null;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            return uri;
        }

        errors.Add($"{option} ({TokenGateConfiguration.SectionName}:{key}): '{text}' is not an http:// or https:// URL.");
        return null;
    }

    private static string ReadChoice(IConfigurationSection section, string key, string option, string fallback, string[] choices, List<string> errors)
    {
        var text = NonEmpty(section[key]);
        if (text is null)
        {
            return fallback;
        }

        var choice = choices.FirstOrDefault(c => string.Equals(c, text, StringComparison.OrdinalIgnoreCase));
        if (choice is null)
        {
            errors.Add($"{option} ({TokenGateConfiguration.SectionName}:{key}): '{text}' must be one of {string.Join(", ", choices)}.");
        }

        return choice ?? fallback;
    }

    private static bool ReadBool(IConfigurationSection section, string key, bool fallback, List<string> errors)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (bool.TryParse(text, out var value))
        {
            return value;
        }

        errors.Add($"{TokenGateConfiguration.SectionName}:{key}: '{text}' must be true or false.");
        return fallback;
    }

    private static int ReadInt(IConfigurationSection section, string key, int fallback, int min, int max, List<string> errors)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        errors.Add($"{TokenGateConfiguration.SectionName}:{key}: '{text}' must be a whole number from {min} to {max}.");
        return fallback;
    }

    /// <summary>Trusted proxies: a comma-separated list in <c>TrustedProxy</c>, and/or an array in <c>TrustedProxies</c>.</summary>
    private static IReadOnlyList<IPNetwork> ReadNetworks(IConfigurationSection section, List<string> errors)
    {
        var entries = (section["TrustedProxy"] ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(section.GetSection("TrustedProxies").GetChildren().Select(child => child.Value?.Trim()).OfType<string>())
            .Where(entry => entry.Length > 0);

        var networks = new List<IPNetwork>();
        foreach (var entry in entries)
        {
            if (Networks.TryParse(entry, out var network))
            {
                networks.Add(network);
            }
            else
            {
                errors.Add($"--trusted-proxy: '{entry}' is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8, fd00::/8).");
            }
        }

        return networks;
    }
}

/// <summary>The configuration cannot be used; each message names the setting and what is wrong with it.</summary>
public sealed class TokenGateConfigurationException(IReadOnlyList<string> errors)
    : Exception("Invalid TokenGate configuration: " + string.Join(" ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
