using System.Diagnostics.Metrics;

namespace TokenGate.Storage.Sqlite;

/// <summary>
/// The SQLite store's instruments (meter <c>TokenGate.Storage.Sqlite</c>): how many writes each group commit carries and how long
/// a write waits from its queueing to its commit, the store latency that requests which write (issuing a token, deleting one,
/// changing a password) see. No tags. Recorded on the writer's thread, once per batch.
/// </summary>
public static class SqliteStoreMetrics
{
    public const string MeterName = "TokenGate.Storage.Sqlite";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>(
        "tokengate.sqlite.write.batch.size",
        "{write}",
        "Writes committed together in one transaction by the SQLite writer",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });

    private static readonly Histogram<double> WriteDuration = Meter.CreateHistogram<double>(
        "tokengate.sqlite.write.duration",
        "s",
        "Time from a write's queueing to its commit (or failure) by the SQLite writer",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    internal static bool Enabled => BatchSize.Enabled;

    internal static void Batch(int writes) => BatchSize.Record(writes);

    internal static void Write(TimeSpan elapsed) => WriteDuration.Record(elapsed.TotalSeconds);
}
