using System.Diagnostics.Metrics;

namespace TokenGate.Server.Hosting;

/// <summary>
/// The server's instruments (meter <c>TokenGate.Server</c>), readable with <c>dotnet-counters monitor -n tokengate
/// --counters TokenGate.Server</c> and exportable through OpenTelemetry. Names and units are listed in docs/OPERATIONS.md.
/// </summary>
public sealed class TokenGateMetrics
{
    public const string MeterName = "TokenGate.Server";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _issued;
    private readonly Counter<long> _authenticationFailures;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _introspections;

    public TokenGateMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("tokengate.requests", "{request}", "token.php requests by action and outcome");
        _issued = meter.CreateCounter<long>("tokengate.tokens.issued", "{token}", "New tokens issued (a repeated get that returns the existing token is not counted)");
        _authenticationFailures = meter.CreateCounter<long>("tokengate.authentication.failures", "{failure}", "get requests refused with Authentication failure");
        _introspections = meter.CreateCounter<long>("tokengate.introspections", "{request}", "RFC 7662 introspections by whether the token was active");
        _rateLimited = meter.CreateCounter<long>("tokengate.rate_limited", "{request}", "get and newpass requests refused with 429 by the brute-force protection");
    }

    /// <summary>Counts one token.php request. <paramref name="outcome"/> is <c>success</c> or the contract's error text.</summary>
    public void Request(string action, string outcome) =>
        _requests.Add(1, new KeyValuePair<string, object?>("action", action), new KeyValuePair<string, object?>("outcome", outcome));

    public void TokenIssued() => _issued.Add(1);

    public void AuthenticationFailed() => _authenticationFailures.Add(1);

    public void Introspection(bool active) => _introspections.Add(1, new KeyValuePair<string, object?>("active", active));

    public void RateLimited(string action) => _rateLimited.Add(1, new KeyValuePair<string, object?>("action", action));
}
