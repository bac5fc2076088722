using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TokenGate.Caching;
using TokenGate.Server.Configuration;
using TokenGate.Storage.Postgres;
using TokenGate.Server.Maintenance;

namespace TokenGate.Server.Hosting;

/// <summary>
/// What <c>tokengate serve</c> itself is configured with, and the options of each feature, read from the <c>TokenGate</c>
/// configuration section (fed by appsettings.json, <c>TOKENGATE_*</c> environment variables and command-line options, in rising
/// precedence) by <see cref="TokenGateSettingsTable"/> and checked once, every problem reported at once.
/// </summary>
public sealed class TokenGateSettings
{
    public const string DefaultUrls = "http://127.0.0.1:5080";
    public const string DefaultDatabase = "data/tokengate.db";
    public const string KeyFileName = "tokengate.key";

    private static readonly SettingsValidator<TokenGateSettings> ServeValidator = new(TokenGateSettingsTable.Serve, CheckFiles);
    private static readonly SettingsValidator<TokenPolicyOptions> TokenPolicyValidator = new(TokenGateSettingsTable.TokenPolicy);
    private static readonly SettingsValidator<PasswordOptions> PasswordValidator = new(TokenGateSettingsTable.Passwords, CheckLengths);
    private static readonly SettingsValidator<TokenCacheOptions> CacheValidator = new(TokenGateSettingsTable.Caches);
    private static readonly SettingsValidator<LoginThrottleOptions> ThrottleValidator = new(TokenGateSettingsTable.Throttle);
    private static readonly SettingsValidator<SweeperOptions> SweeperValidator = new(TokenGateSettingsTable.Sweeper);
    private static readonly SettingsValidator<TelemetryOptions> TelemetryValidator = new(TokenGateSettingsTable.Telemetry);
    private static readonly SettingsValidator<ConsoleOptions> ConsoleValidator = new(TokenGateSettingsTable.Consoles);

    public string Urls { get; set; } = DefaultUrls;

    /// <summary>The SQLite file path (the embedded default), or a PostgreSQL connection string (a <c>postgres://</c> URI or
    /// <c>Host=...;...</c>) for a store shared by several instances.</summary>
    public string Database { get; set; } = DefaultDatabase;

    /// <summary>Whether <see cref="Database"/> names a PostgreSQL database.</summary>
    public bool IsPostgres => TokenGateStores.IsPostgres(Database);

    /// <summary>The sealing key file; by default <c>tokengate.key</c> beside the SQLite database. With PostgreSQL there is no
    /// "beside": serve requires this or <see cref="SealingKey"/>, so that every instance is given the same key.</summary>
    public string? KeyFile { get; set; }

    /// <summary>The sealing key as base64; when set, no key file is read or created.</summary>
    public string? SealingKey { get; set; }

    public IReadOnlyList<IPNetwork> TrustedProxies { get; set; } = [];

    /// <summary>
    /// Whether a peer on a Unix socket is a trusted proxy (<c>--trusted-proxy unix</c>). Such a peer has no IP address to test,
    /// so without this its <c>X-Forwarded-For</c> is ignored.
    /// </summary>
    public bool TrustUnixSocketProxy { get; set; }

    /// <summary>
    /// Open connections Kestrel holds at once; past it new connections are closed at once. An idle keep-alive connection is held
    /// up to 60 s, so without a cap anyone could open connections until the process runs out of file descriptors.
    /// </summary>
    public int MaxConnections { get; set; } = ServerLimits.DefaultMaxConnections;

    /// <summary>Refuse a <c>get</c> or <c>newpass</c> whose password arrives in the query string (<c>Bad argument: password</c>).</summary>
    public bool RequirePostCredentials { get; set; }

    /// <summary>
    /// Whether <c>serve</c> may open a SQLite database (or its -wal/-shm) that group or others can read or write. It holds password
    /// hashes and sealed tokens, so by default such a file is refused at start, as a key file is.
    /// </summary>
    public bool AllowReadableDatabase { get; set; }

    /// <summary>A certificate for HTTPS: a PKCS#12 file (.pfx/.p12, with <see cref="CertificatePassword"/>) or a PEM file.</summary>
    public string? Certificate { get; set; }

    public string? CertificatePassword { get; set; }

    /// <summary>The PEM private key when it is not in the <see cref="Certificate"/> file.</summary>
    public string? CertificateKey { get; set; }

    /// <summary>Console log format: <c>text</c> (the default) or <c>json</c> (one JSON object per line).</summary>
    public string LogFormat { get; set; } = "text";

    /// <summary>One redacted line per request (category TokenGate.Requests).</summary>
    public bool RequestLog { get; set; }

    /// <summary>The <c>max-age</c> of <c>Strict-Transport-Security</c>, sent on every HTTPS response (zero sends <c>max-age=0</c>).</summary>
    public TimeSpan HstsMaxAge { get; set; } = TimeSpan.FromDays(365);

    public TokenPolicyOptions TokenPolicy { get; } = new();

    public PasswordOptions Passwords { get; } = new();

    /// <summary>Whether validated tokens, verified credentials and current tokens are cached in memory (revocation-safe), and how long.</summary>
    public TokenCacheOptions CacheOptions { get; } = new();

    /// <summary>Brute-force protection of <c>get</c> and <c>newpass</c>.</summary>
    public LoginThrottleOptions LoginThrottle { get; } = new();

    public SweeperOptions Sweeper { get; } = new();

    public TelemetryOptions Telemetry { get; } = new();

    /// <summary>Where the operator console answers, if anywhere (<see cref="ConsoleOptions.Placement"/>).</summary>
    public ConsoleOptions Console { get; } = new();

    public string ResolvedKeyFile => KeyFile ?? (IsPostgres
        ? Path.GetFullPath(Path.Combine("data", KeyFileName))
        : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(Database)) ?? ".", KeyFileName));

    /// <summary>Reads and checks the settings; every problem found, in any feature, is reported at once.</summary>
    public static TokenGateSettings FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection(TokenGateConfiguration.SectionName);
        var errors = new List<string>();
        var settings = new TokenGateSettings();

        // ASP.NET Core's own spelling (ASPNETCORE_URLS, --urls) still works when TokenGate's is not given.
        if (string.IsNullOrWhiteSpace(section[TokenGateSettingsTable.Urls.Key]) && !string.IsNullOrWhiteSpace(configuration["urls"]))
        {
            settings.Urls = configuration["urls"]!.Trim();
        }

        Read(section, TokenGateSettingsTable.Serve, ServeValidator, settings, errors);
        Read(section, TokenGateSettingsTable.TokenPolicy, TokenPolicyValidator, settings.TokenPolicy, errors);
        Read(section, TokenGateSettingsTable.Passwords, PasswordValidator, settings.Passwords, errors);
        Read(section, TokenGateSettingsTable.Caches, CacheValidator, settings.CacheOptions, errors);
        Read(section, TokenGateSettingsTable.Throttle, ThrottleValidator, settings.LoginThrottle, errors);
        Read(section, TokenGateSettingsTable.Sweeper, SweeperValidator, settings.Sweeper, errors);
        Read(section, TokenGateSettingsTable.Telemetry, TelemetryValidator, settings.Telemetry, errors);
        Read(section, TokenGateSettingsTable.Consoles, ConsoleValidator, settings.Console, errors);

        return errors.Count == 0
            ? settings
            : throw new TokenGateConfigurationException(configuration is IConfigurationRoot root ? SettingSources.NameAsGiven(root, errors) : errors);
    }

    /// <summary>
    /// Registers each feature's options, as its class and as <see cref="IOptions{TOptions}"/>. They were checked when read
    /// (<see cref="FromConfiguration"/>), before the host was built, so that a bad value fails before the database is opened.
    /// </summary>
    public void AddTo(IServiceCollection services)
    {
        Add(services, this);
        Add(services, TokenPolicy);
        Add(services, Passwords);
        Add(services, CacheOptions);
        Add(services, LoginThrottle);
        Add(services, Sweeper);
        Add(services, Telemetry);
        Add(services, Console);
    }

    /// <summary>
    /// What <c>serve</c> needs beyond what operator commands need. A SQLite database others may read is refused (unless
    /// <see cref="AllowReadableDatabase"/>): it holds password hashes. Instances on one PostgreSQL database must share the sealing key
    /// (else one instance cannot hand back a token another issued, and <c>get</c> answers differ by instance), and no file is
    /// "beside" a PostgreSQL database, so the key must be named: a file every instance reads, or the key itself.
    /// </summary>
    public void EnsureServable()
    {
        if (IsPostgres && KeyFile is null && SealingKey is null)
        {
            throw new TokenGateConfigurationException(
            [
                $"with a PostgreSQL database, give every instance the same sealing key: {TokenGateSettingsTable.KeyFile.Option} PATH ({TokenGateSettingsTable.KeyFile.EnvironmentVariable}) or {TokenGateSettingsTable.SealingKey.EnvironmentVariable} (base64 of 32 bytes).",
            ]);
        }

        if (!IsPostgres && !AllowReadableDatabase)
        {
            var database = Path.GetFullPath(Database);
            var shared = new[] { database, database + "-wal", database + "-shm" }.Where(TokenGate.Security.PrivateFiles.IsShared).ToList();
            if (shared.Count > 0)
            {
                throw new TokenGateConfigurationException(
                [
                    $"the database {string.Join(" and ", shared)} can be read or written by other users (it holds password hashes); make it private with: chmod 600 {string.Join(' ', shared)} (or start with {TokenGateSettingsTable.AllowReadableDatabase.Option} to serve it anyway).",
                ]);
            }
        }
    }

    private static void Read<TOptions>(IConfiguration section, FeatureTable<TOptions> table, IValidateOptions<TOptions> validator, TOptions options, List<string> errors)
        where TOptions : class, new()
    {
        table.Bind(section, options, errors);
        if (validator.Validate(Options.DefaultName, options) is { Failed: true, Failures: { } failures })
        {
            errors.AddRange(failures);
        }
    }

    private static void Add<TOptions>(IServiceCollection services, TOptions options)
        where TOptions : class
    {
        services.AddSingleton(options);
        services.AddSingleton<IOptions<TOptions>>(Options.Create(options));
    }

    private static void CheckFiles(TokenGateSettings settings, ICollection<string> errors)
    {
        if (settings.IsPostgres && !PostgresConnectionString.TryParse(settings.Database, out _, out var databaseError))
        {
            errors.Add(TokenGateSettingsTable.Database.Error(databaseError ?? "not a usable connection string."));
        }

        if (!settings.IsPostgres && Directory.Exists(settings.Database))
        {
            errors.Add(TokenGateSettingsTable.Database.Error($"'{Path.GetFullPath(settings.Database)}' is a directory; name the database file in it, e.g. {Path.Combine(Path.GetFullPath(settings.Database), "tokengate.db")}."));
        }

        foreach (var (setting, path) in new[] { (TokenGateSettingsTable.Certificate, settings.Certificate), (TokenGateSettingsTable.CertificateKey, settings.CertificateKey) })
        {
            if (path is not null && !File.Exists(path))
            {
                errors.Add(setting.Error($"the file '{path}' does not exist."));
            }
        }
    }

    private static void CheckLengths(PasswordOptions options, ICollection<string> errors)
    {
        if (options.MaxLength < options.MinLength)
        {
            errors.Add(TokenGateSettingsTable.PasswordMaxLength.Error($"{options.MaxLength} is less than {TokenGateSettingsTable.PasswordMinLength.Name} ({options.MinLength})."));
        }
    }
}

/// <summary>The configuration cannot be used; each message names the setting and what is wrong with it.</summary>
public sealed class TokenGateConfigurationException(IReadOnlyList<string> errors, Exception? innerException = null)
    : Exception("Invalid TokenGate configuration: " + string.Join(" ", errors), innerException)
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
