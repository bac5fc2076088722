using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using TokenGate.Server.Hosting;
using TokenGate.Server.Operations;

namespace TokenGate.Testing;

/// <summary>
/// Reads one server's <c>TokenGate.Server</c> counters as they are recorded: the server-side view of how many requests of each
/// action it served. Only instruments of the given meter scope (the server's own <see cref="IMeterFactory"/>) are counted, so
/// servers running side by side in one test process do not mix.
/// </summary>
public sealed class ServerMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public ServerMetrics(object meterScope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == TokenGateMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterScope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                if (tag.Key == "action")
                {
                    key += ":" + tag.Value;
                }
            }

            _counts.AddOrUpdate(key, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    /// <summary>How many token.php requests with this action (get, validate, delete, newpass, other) the server has served.</summary>
    public long Requests(string action) => _counts.GetValueOrDefault("tokengate.requests:" + action);

    public long TokensIssued => _counts.GetValueOrDefault("tokengate.tokens.issued");

    public long AuthenticationFailures => _counts.GetValueOrDefault("tokengate.authentication.failures");

    /// <summary>Requests refused with 429 by the guessing defences, of one action (get, newpass, or OAuth2's token, introspect, revoke).</summary>
    public long RateLimited(string action) => _counts.GetValueOrDefault("tokengate.rate_limited:" + action);

    public void Dispose() => _listener.Dispose();
}
