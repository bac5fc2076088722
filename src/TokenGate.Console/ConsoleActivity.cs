using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using TokenGate.Server.Operations;

namespace TokenGate.OperatorConsole;

/// <summary>
/// Per-minute counts of this instance's own activity over the last hour, for the overview's charts: tokens issued, validations,
/// failed logins and 429s. Read in-process from TokenGate's meter (<see cref="TokenGateMetrics"/>) with a
/// <see cref="MeterListener"/> limited to this server's meter factory, so another server in the same process (tests) is not
/// counted; nothing is stored. Other instances on the same database have their own counts.
/// </summary>
public sealed class ConsoleActivity : IHostedService, IDisposable
{
    public const int Minutes = 60;

    private readonly IMeterFactory _meterFactory;
    private readonly TimeProvider _time;
    private readonly MeterListener _listener = new();
    private readonly Series _issued;
    private readonly Series _validations;
    private readonly Series _failedLogins;
    private readonly Series _rateLimited;

    public ConsoleActivity(IMeterFactory meterFactory, TimeProvider time)
    {
        _meterFactory = meterFactory;
        _time = time;
        StartedAt = time.GetUtcNow();
        _issued = new Series(time);
        _validations = new Series(time, validationsOnly: true);
        _failedLogins = new Series(time);
        _rateLimited = new Series(time);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == TokenGateMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, _meterFactory) && SeriesOf(instrument.Name) is { } series)
            {
                listener.EnableMeasurementEvents(instrument, series);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (instrument, value, tags, state) =>
        {
            if (state is Series series && (!series.ValidationsOnly || IsValidate(tags)))
            {
                series.Add(value);
            }
        });
    }

    /// <summary>When this instance started serving (the console's uptime).</summary>
    public DateTimeOffset StartedAt { get; }

    public IReadOnlyList<long> Issued => _issued.LastHour();

    public IReadOnlyList<long> Validations => _validations.LastHour();

    public IReadOnlyList<long> FailedLogins => _failedLogins.LastHour();

    public IReadOnlyList<long> RateLimited => _rateLimited.LastHour();

    public TimeSpan Uptime => _time.GetUtcNow() - StartedAt;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener.Dispose();

    private Series? SeriesOf(string instrument) => instrument switch
    {
        "tokengate.tokens.issued" => _issued,
        "tokengate.requests" => _validations,
        "tokengate.authentication.failures" => _failedLogins,
        "tokengate.rate_limited" => _rateLimited,
        _ => null,
    };

    private static bool IsValidate(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "action" && tag.Value is "validate")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Counts per clock minute, the last <see cref="Minutes"/> of them, in a ring (a slot is reset as its minute comes round).</summary>
    /// <param name="validationsOnly">Count only measurements tagged <c>action=validate</c> (of <c>tokengate.requests</c>).</param>
    private sealed class Series(TimeProvider time, bool validationsOnly = false)
    {
        private readonly long[] _counts = new long[Minutes];
        private readonly long[] _minuteOf = new long[Minutes];
        private readonly Lock _lock = new();

        public bool ValidationsOnly => validationsOnly;

        /// <summary>
        /// On every request that the instrument measures, so without a lock: the minute's slot is reset under the lock only when a
        /// new minute first comes round to it (once a minute), and the count is one atomic add.
        /// </summary>
        public void Add(long value)
        {
            var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
            var slot = (int)(minute % Minutes);
            if (Volatile.Read(ref _minuteOf[slot]) != minute)
            {
                lock (_lock)
                {
                    if (_minuteOf[slot] != minute)
                    {
                        // Zeroed before the minute is published, so that an add that sees the new minute is never wiped.
                        Volatile.Write(ref _counts[slot], 0);
                        Volatile.Write(ref _minuteOf[slot], minute);
                    }
                }
            }

            Interlocked.Add(ref _counts[slot], value);
        }

        /// <summary>The oldest minute first, the current (unfinished) minute last.</summary>
        public IReadOnlyList<long> LastHour()
        {
            var now = time.GetUtcNow().ToUnixTimeSeconds() / 60;
            var result = new long[Minutes];
            lock (_lock)
            {
                for (var i = 0; i < Minutes; i++)
                {
                    var minute = now - (Minutes - 1) + i;
                    var slot = (int)(minute % Minutes);
                    result[i] = Volatile.Read(ref _minuteOf[slot]) == minute ? Interlocked.Read(ref _counts[slot]) : 0;
                }
            }

            return result;
        }
    }
}
