using System.Diagnostics.Metrics;

namespace TokenGate.Server.Operations;

/// <summary>
/// The server's instruments (meter <c>TokenGate.Server</c>), readable with <c>dotnet-counters monitor -n tokengate
/// --counters TokenGate.Server</c> and exportable through OpenTelemetry. Names and units are listed in docs/OPERATIONS.md.
/// </summary>
public sealed class TokenGateMetrics
{
    public const string MeterName = "TokenGate.Server";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _issued;
    private readonly Counter<long> _deleted;
    private readonly Counter<long> _authenticationFailures;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _introspections;
    private readonly Histogram<double> _duration;
    private long _activeTokens = -1;
    private long _accounts = -1;

    /// <param name="meterFactory">Where the meter comes from (one scope per server).</param>
    /// <param name="sqliteDatabase">The SQLite database file, whose volume's free space and WAL size are observed; null with PostgreSQL.</param>
    public TokenGateMetrics(IMeterFactory meterFactory, string? sqliteDatabase = null)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("tokengate.requests", "{request}", "token.php requests by action and outcome");
        _issued = meter.CreateCounter<long>("tokengate.tokens.issued", "{token}", "New tokens issued (a repeated get that returns the existing token is not counted)");
        _deleted = meter.CreateCounter<long>("tokengate.tokens.deleted", "{token}", "Tokens deleted by their holder (token.php delete, OAuth2 revocation)");
        _authenticationFailures = meter.CreateCounter<long>("tokengate.authentication.failures", "{failure}", "get requests refused with Authentication failure");
        _duration = meter.CreateHistogram<double>(
            "tokengate.request.duration",
            "s",
            "Time to answer a token.php request, by action",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        meter.CreateObservableGauge(
            "tokengate.tokens.active",
            () => Interlocked.Read(ref _activeTokens) is var active and >= 0 ? [new Measurement<long>(active)] : Array.Empty<Measurement<long>>(),
            "{token}",
            "Unexpired tokens in the store, as of the last sweep");
        meter.CreateObservableGauge(
            "tokengate.accounts",
            () => Interlocked.Read(ref _accounts) is var accounts and >= 0 ? [new Measurement<long>(accounts)] : Array.Empty<Measurement<long>>(),
            "{account}",
            "Accounts in the store, as of the last sweep");
        if (sqliteDatabase is not null)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(sqliteDatabase))!;
            var wal = Path.GetFullPath(sqliteDatabase) + "-wal";
            meter.CreateObservableGauge("tokengate.sqlite.disk.available", () => new DriveInfo(directory).AvailableFreeSpace, "By", "Free space for TokenGate on the SQLite database's volume");
            meter.CreateObservableGauge("tokengate.sqlite.wal.size", () => new FileInfo(wal) is { Exists: true } file ? file.Length : 0L, "By", "Size of the SQLite write-ahead log");
        }

        _introspections = meter.CreateCounter<long>("tokengate.introspections", "{request}", "RFC 7662 introspections by whether the token was active");
        _rateLimited = meter.CreateCounter<long>("tokengate.rate_limited", "{request}", "Requests refused with 429 by the brute-force protection: token.php get and newpass, OAuth2 client authentication (token, introspect, revoke)");
    }

    /// <summary>Counts one token.php request. <paramref name="outcome"/> is <c>success</c> or the contract's error text.</summary>
    public void Request(string action, string outcome) =>
        _requests.Add(1, new KeyValuePair<string, object?>("action", action), new KeyValuePair<string, object?>("outcome", outcome));

    public void TokenIssued() => _issued.Add(1);

    public void TokenDeleted() => _deleted.Add(1);

    public void AuthenticationFailed() => _authenticationFailures.Add(1);

    public void RequestDuration(string action, TimeSpan elapsed) =>
        _duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("action", action));

    public void ActiveTokens(long count) => Interlocked.Exchange(ref _activeTokens, count);

    public void Accounts(long count) => Interlocked.Exchange(ref _accounts, count);

    public void Introspection(bool active) => _introspections.Add(1, new KeyValuePair<string, object?>("active", active));

    public void RateLimited(string action) => _rateLimited.Add(1, new KeyValuePair<string, object?>("action", action));
}
