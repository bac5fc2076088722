using System.Globalization;
using System.Net;
using TokenGate.Caching;
using TokenGate.Server.Maintenance;

namespace TokenGate.Server.Configuration;

/// <summary>
/// Every setting of <c>tokengate serve</c>, one line each, grouped by the feature whose options class it binds. Defaults live in
/// the options classes' initialisers; help shows them from there.
/// </summary>
public static class TokenGateSettingsTable
{
    // serve itself (TokenGateSettings)
    public static readonly ScalarSetting<TokenGateSettings, string?> Urls = new("Urls", ValueGrammars.ListenUrls, s => s.Urls, (s, v) => s.Urls = v!)
    {
        Option = "--urls", HelpName = "URLS", Help = "Where to listen, ';'-separated",
    };

    public static readonly ScalarSetting<TokenGateSettings, string?> Database = new("Database", ValueGrammars.Text, s => s.Database, (s, v) => s.Database = v!)
    {
        Option = "--database", HelpName = "PATH",
        Help = "The SQLite database file, or a PostgreSQL connection string (postgres://USER:PASSWORD@HOST:PORT/DATABASE or Host=...;Username=...;Database=...) shared by several instances",
    };

    public static readonly ScalarSetting<TokenGateSettings, string?> SealingKey = new("SealingKey", ValueGrammars.Text, s => s.SealingKey, (s, v) => s.SealingKey = v)
    {
        Help = "The sealing key as base64 (32 bytes) instead of a file, or a key ring as tokengate key writes it", Secret = true,
    };

    public static readonly ScalarSetting<TokenGateSettings, string?> KeyFile = new("KeyFile", ValueGrammars.Text, s => s.KeyFile, (s, v) => s.KeyFile = v)
    {
        Option = "--key-file", HelpName = "PATH", Help = "The sealing key file (one key, or a key ring; reloaded on SIGHUP)",
        DefaultHelp = $"{TokenGateSettings.KeyFileName} beside the SQLite database; required with PostgreSQL unless {SealingKey.EnvironmentVariable} is set",
    };

    public static readonly ListSetting<TokenGateSettings, IPNetwork> TrustedProxy = new("TrustedProxy", "TrustedProxies", ValueGrammars.ProxyNetwork, SetTrustedProxies)
    {
        Option = "--trusted-proxy", HelpName = "IP|CIDR|unix", Help = "A proxy whose X-Forwarded-For is believed: an IP or CIDR, or unix for every peer on a Unix socket; repeatable",
    };

    public static readonly ScalarSetting<TokenGateSettings, bool> RequirePostCredentials = new("RequirePostCredentials", ValueGrammars.Boolean, s => s.RequirePostCredentials, (s, v) => s.RequirePostCredentials = v)
    {
        Option = "--require-post-credentials",
        Help = "Refuse a get or newpass whose password is in the query string (Bad argument: password); recommended for new deployments",
    };

    public static readonly ScalarSetting<TokenGateSettings, bool> AllowReadableDatabase = new("AllowReadableDatabase", ValueGrammars.Boolean, s => s.AllowReadableDatabase, (s, v) => s.AllowReadableDatabase = v)
    {
        Option = "--allow-readable-database",
        Help = "Serve a SQLite database (or its -wal/-shm) that group or others may read or write; refused otherwise, as it holds password hashes",
    };

    public static readonly ScalarSetting<TokenGateSettings, string?> Certificate = new("Certificate", ValueGrammars.Text, s => s.Certificate, (s, v) => s.Certificate = v)
    {
        Option = "--certificate", HelpName = "PATH", Help = "Serve HTTPS with this certificate, a .pfx/.p12 file or a PEM file; use https:// in --urls",
    };

    public static readonly ScalarSetting<TokenGateSettings, string?> CertificatePassword = new("CertificatePassword", ValueGrammars.Text, s => s.CertificatePassword, (s, v) => s.CertificatePassword = v)
    {
        Option = "--certificate-password", HelpName = "PASSWORD", Verbatim = true, Secret = true,
        Help = "The password of the .pfx file or of an encrypted PEM key; better given by the variable, out of the process list",
    };

    public static readonly ScalarSetting<TokenGateSettings, string?> CertificateKey = new("CertificateKey", ValueGrammars.Text, s => s.CertificateKey, (s, v) => s.CertificateKey = v)
    {
        Option = "--certificate-key", HelpName = "PATH", Help = "The PEM private key, when it is not in the certificate file",
    };

    public static readonly ScalarSetting<TokenGateSettings, int> MaxConnections = new("MaxConnections", ValueGrammars.WholeNumber, s => s.MaxConnections, (s, v) => s.MaxConnections = v)
    {
        Minimum = 1, Maximum = 1_000_000, Help = "Open connections Kestrel holds at once",
    };

    public static readonly ScalarSetting<TokenGateSettings, string?> LogFormat = new("LogFormat", ValueGrammars.Choice("text", "json"), s => s.LogFormat, (s, v) => s.LogFormat = v!)
    {
        Option = "--log-format", HelpName = "text|json", Help = "Console log format: text or json (one JSON object per line)",
    };

    public static readonly ScalarSetting<TokenGateSettings, bool> RequestLog = new("RequestLog", ValueGrammars.Boolean, s => s.RequestLog, (s, v) => s.RequestLog = v)
    {
        Option = "--request-log", Help = "Log one line per request, secrets redacted",
    };

    public static readonly ScalarSetting<TokenGateSettings, TimeSpan> HstsMaxAge = new("HstsMaxAge", ValueGrammars.Duration, s => s.HstsMaxAge, (s, v) => s.HstsMaxAge = v)
    {
        Minimum = TimeSpan.Zero, Maximum = TimeSpan.FromDays(730),
        Help = "Strict-Transport-Security max-age on HTTPS responses (0 tells browsers to forget it)",
    };

    // the token policy (Core)
    public static readonly ScalarSetting<TokenPolicyOptions, TimeSpan> TokenLifetime = new("TokenLifetime", ValueGrammars.Duration, o => o.Lifetime, (o, v) => o.Lifetime = v)
    {
        Option = "--token-lifetime", HelpName = "SECONDS", Help = "Token lifetime in seconds, or with a unit (12h)",
        Minimum = TokenPolicyOptions.MinLifetime, Maximum = TokenPolicyOptions.MaxLifetime,
        HelpFormat = lifetime => ((long)lifetime.TotalSeconds).ToString(CultureInfo.InvariantCulture),
    };

    public static readonly ScalarSetting<TokenPolicyOptions, TimeSpan> ExpiredRetention = new("ExpiredRetention", ValueGrammars.Duration, o => o.ExpiredRetention, (o, v) => o.ExpiredRetention = v)
    {
        Option = "--expired-retention", HelpName = "DURATION", Help = "How long expired tokens still answer 'Expired token'",
        Minimum = TimeSpan.Zero, Maximum = TokenPolicyOptions.MaxExpiredRetention,
    };

    public static readonly ScalarSetting<TokenPolicyOptions, int> MaxActiveTokensPerAccount = new("MaxActiveTokensPerAccount", ValueGrammars.WholeNumber, o => o.MaxActiveTokensPerAccount, (o, v) => o.MaxActiveTokensPerAccount = v)
    {
        Minimum = TokenPolicyOptions.MinActiveTokensPerAccount, Maximum = 10_000_000, Help = "The most unexpired tokens one account may hold",
    };

    // passwords
    public static readonly ScalarSetting<PasswordOptions, int> PasswordMinLength = new("PasswordMinLength", ValueGrammars.WholeNumber, o => o.MinLength, (o, v) => o.MinLength = v)
    {
        Minimum = 1, Maximum = 1024,
    };

    public static readonly ScalarSetting<PasswordOptions, int> PasswordMaxLength = new("PasswordMaxLength", ValueGrammars.WholeNumber, o => o.MaxLength, (o, v) => o.MaxLength = v)
    {
        Minimum = 1, Maximum = 1024,
    };

    public static readonly ScalarSetting<PasswordOptions, int> PasswordHashIterations = new("PasswordHashIterations", ValueGrammars.WholeNumber, o => o.HashIterations, (o, v) => o.HashIterations = v)
    {
        Minimum = IdentityPasswordHasher.MinimumIterations, Maximum = 10_000_000,
    };

    public static readonly ScalarSetting<PasswordOptions, int> PasswordHashConcurrency = new("PasswordHashConcurrency", ValueGrammars.WholeNumber, o => o.HashConcurrency, (o, v) => o.HashConcurrency = v)
    {
        Minimum = 0, Maximum = 1024, DefaultHelp = "0: the processor count less one, at least 1",
        Help = "Password checks (PBKDF2) run at once; more wait their turn",
    };

    public static readonly ScalarSetting<PasswordOptions, TimeSpan> PasswordHashWait = new("PasswordHashWait", ValueGrammars.Duration, o => o.HashWait, (o, v) => o.HashWait = v)
    {
        Minimum = TimeSpan.Zero, Maximum = TimeSpan.FromMinutes(1), Help = "How long a password check waits for its turn before the answer is 503 Service unavailable",
    };

    // the in-memory caches (Core)
    public static readonly ScalarSetting<TokenCacheOptions, bool> Cache = new("Cache", ValueGrammars.Boolean, o => o.Enabled, (o, v) => o.Enabled = v);

    public static readonly ScalarSetting<TokenCacheOptions, TimeSpan> CredentialCacheLifetime = new("CredentialCacheLifetime", ValueGrammars.Duration, o => o.CredentialLifetime, (o, v) => o.CredentialLifetime = v);

    // the login throttle
    public static readonly ScalarSetting<LoginThrottleOptions, bool> LoginThrottle = new("LoginThrottle", ValueGrammars.Boolean, o => o.Enabled, (o, v) => o.Enabled = v);

    public static readonly ScalarSetting<LoginThrottleOptions, TimeSpan> LoginWindow = new("LoginWindow", ValueGrammars.Duration, o => o.Window, (o, v) => o.Window = v)
    {
        Minimum = TimeSpan.FromSeconds(1),
    };

    public static readonly ScalarSetting<LoginThrottleOptions, int> LoginDelayAfter = Threshold("LoginDelayAfter", o => o.DelayAfter, (o, v) => o.DelayAfter = v);

    public static readonly ScalarSetting<LoginThrottleOptions, int> LoginBlockAfter = Threshold("LoginBlockAfter", o => o.BlockAfter, (o, v) => o.BlockAfter = v);

    public static readonly ScalarSetting<LoginThrottleOptions, int> LoginDelayAfterPerClient = Threshold("LoginDelayAfterPerClient", o => o.DelayAfterPerClient, (o, v) => o.DelayAfterPerClient = v);

    public static readonly ScalarSetting<LoginThrottleOptions, int> LoginBlockAfterPerClient = Threshold("LoginBlockAfterPerClient", o => o.BlockAfterPerClient, (o, v) => o.BlockAfterPerClient = v);

    public static readonly ScalarSetting<LoginThrottleOptions, int> LoginBlockAfterPerAccount = Threshold("LoginBlockAfterPerAccount", o => o.BlockAfterPerAccount, (o, v) => o.BlockAfterPerAccount = v);

    public static readonly ScalarSetting<LoginThrottleOptions, TimeSpan> LoginFamiliarFor = new("LoginFamiliarFor", ValueGrammars.Duration, o => o.FamiliarFor, (o, v) => o.FamiliarFor = v)
    {
        Minimum = TimeSpan.FromHours(1), Maximum = TimeSpan.FromDays(3660),
    };

    public static readonly ScalarSetting<LoginThrottleOptions, int> LoginIpv6Prefix = new("LoginIpv6Prefix", ValueGrammars.WholeNumber, o => o.Ipv6Prefix, (o, v) => o.Ipv6Prefix = v)
    {
        Minimum = 32, Maximum = 128,
    };

    public static readonly ScalarSetting<LoginThrottleOptions, TimeSpan> LoginMaxDelay = new("LoginMaxDelay", ValueGrammars.Duration, o => o.MaxDelay, (o, v) => o.MaxDelay = v);

    // the sweeper
    public static readonly ScalarSetting<SweeperOptions, TimeSpan> SweepInterval = new("SweepInterval", ValueGrammars.Duration, o => o.Interval, (o, v) => o.Interval = v)
    {
        Minimum = TimeSpan.FromSeconds(1),
    };

    public static readonly ScalarSetting<SweeperOptions, int> SweepBatchSize = new("SweepBatchSize", ValueGrammars.WholeNumber, o => o.BatchSize, (o, v) => o.BatchSize = v)
    {
        Minimum = 1, Maximum = 100_000,
    };

    public static readonly ScalarSetting<SweeperOptions, TimeSpan> AuditRetention = new("AuditRetention", ValueGrammars.Duration, o => o.AuditRetention, (o, v) => o.AuditRetention = v)
    {
        Option = "--audit-retention", HelpName = "DURATION", Help = "How long audit entries are kept",
    };

    // metrics export
    public static readonly ScalarSetting<TelemetryOptions, Uri?> OtlpEndpoint = new("OtlpEndpoint", ValueGrammars.HttpUrl, o => o.OtlpEndpoint, (o, v) => o.OtlpEndpoint = v)
    {
        Option = "--otlp-endpoint", HelpName = "URL", Help = "Export metrics over OTLP/HTTP to this collector, e.g. http://127.0.0.1:4318",
    };

    public static readonly ScalarSetting<TelemetryOptions, TimeSpan> OtlpExportInterval = new("OtlpExportInterval", ValueGrammars.Duration, o => o.OtlpExportInterval, (o, v) => o.OtlpExportInterval = v);

    public static readonly ScalarSetting<TelemetryOptions, string?> MetricsUrls = new("MetricsUrls", ValueGrammars.ListenUrls, o => o.MetricsUrls, (o, v) => o.MetricsUrls = v)
    {
        Option = "--metrics-urls", HelpName = "URLS", Help = "Serve /metrics for Prometheus on a listener of its own, ';'-separated URLs, e.g. http://127.0.0.1:9464",
    };

    // the operator console (its listener; the console itself is src/TokenGate.Console)
    public static readonly ScalarSetting<ConsoleOptions, bool> Console = new("Console", ValueGrammars.Boolean, o => o.Enabled ?? false, (o, v) => o.Enabled = v)
    {
        Option = "--console", DefaultHelp = "on when every --urls address is loopback",
        Help = "Serve the operator console at /console on the API's listener also when it is not loopback-only (TOKENGATE_CONSOLE=false turns it off everywhere)",
    };

    public static readonly ScalarSetting<ConsoleOptions, string?> ConsoleUrls = new("ConsoleUrls", ValueGrammars.ListenUrls, o => o.Urls, (o, v) => o.Urls = v)
    {
        Option = "--console-urls", HelpName = "URLS",
        Help = "Serve the operator console at /console on a listener of its own (and not on --urls), ';'-separated URLs, e.g. http://10.0.0.5:5081",
    };

    // The tables per feature; declared after the settings they list (static fields initialise in order).
    public static readonly FeatureTable<TokenGateSettings> Serve = new(
        Urls, Database, KeyFile, SealingKey, TrustedProxy, RequirePostCredentials, AllowReadableDatabase, Certificate, CertificatePassword, CertificateKey, MaxConnections, LogFormat, RequestLog, HstsMaxAge);

    public static readonly FeatureTable<TokenPolicyOptions> TokenPolicy = new(TokenLifetime, ExpiredRetention, MaxActiveTokensPerAccount);

    public static readonly FeatureTable<PasswordOptions> Passwords = new(PasswordMinLength, PasswordMaxLength, PasswordHashIterations, PasswordHashConcurrency, PasswordHashWait);

    public static readonly FeatureTable<TokenCacheOptions> Caches = new(Cache, CredentialCacheLifetime);

    public static readonly FeatureTable<LoginThrottleOptions> Throttle = new(
        LoginThrottle, LoginWindow, LoginDelayAfter, LoginBlockAfter, LoginDelayAfterPerClient, LoginBlockAfterPerClient, LoginBlockAfterPerAccount,
        LoginFamiliarFor, LoginIpv6Prefix, LoginMaxDelay);

    public static readonly FeatureTable<SweeperOptions> Sweeper = new(SweepInterval, SweepBatchSize, AuditRetention);

    public static readonly FeatureTable<TelemetryOptions> Telemetry = new(OtlpEndpoint, OtlpExportInterval, MetricsUrls);

    public static readonly FeatureTable<ConsoleOptions> Consoles = new(Console, ConsoleUrls);

    /// <summary>Every setting, feature by feature: the CLI makes <c>serve</c>'s options from those that have one.</summary>
    public static IEnumerable<TokenGateSetting> All =>
        [.. Serve.Settings, .. TokenPolicy.Settings, .. Passwords.Settings, .. Caches.Settings, .. Throttle.Settings, .. Sweeper.Settings, .. Telemetry.Settings, .. Consoles.Settings];

    private static void SetTrustedProxies(TokenGateSettings settings, IReadOnlyList<IPNetwork> proxies)
    {
        settings.TrustUnixSocketProxy = proxies.Contains(ValueGrammars.UnixSocketPeers);
        settings.TrustedProxies = [.. proxies.Where(proxy => proxy != ValueGrammars.UnixSocketPeers)];
    }

    private static ScalarSetting<LoginThrottleOptions, int> Threshold(string key, Func<LoginThrottleOptions, int> get, Action<LoginThrottleOptions, int> set) =>
        new(key, ValueGrammars.WholeNumber, get, set) { Minimum = 1, Maximum = 1_000_000 };
}

/// <summary>The settings that bind one feature's options class.</summary>
public sealed class FeatureTable<TOptions>(params TokenGateSetting<TOptions>[] settings)
    where TOptions : new()
{
    public IReadOnlyList<TokenGateSetting<TOptions>> Settings { get; } = settings;

    public void Bind(IConfiguration section, TOptions options, ICollection<string> errors)
    {
        foreach (var setting in Settings)
        {
            setting.Bind(section, options, errors);
        }
    }

    public void Validate(TOptions options, ICollection<string> errors)
    {
        foreach (var setting in Settings)
        {
            setting.Validate(options, errors);
        }
    }
}
