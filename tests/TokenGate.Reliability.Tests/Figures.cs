namespace TokenGate.Reliability.Tests;

/// <summary>
/// Where a test's measured figures go: xUnit's diagnostic messages (shown by <c>dotnet test</c>), the test's output, and, when
/// <c>TOKENGATE_RELIABILITY_REPORT</c> names a file, one line appended to it (run-full.sh collects them for docs/RELIABILITY.md).
/// </summary>
public static class Figures
{
    public const string ReportVariable = "TOKENGATE_RELIABILITY_REPORT";

    private static readonly Lock FileLock = new();

    public static void Report(string test, string figures)
    {
        var line = $"[{ReliabilityProfile.Current.Name}, seed {ReliabilityProfile.Current.Seed}] {test}: {figures}";
        TestContext.Current.SendDiagnosticMessage(line);
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        if (Environment.GetEnvironmentVariable(ReportVariable) is { Length: > 0 } file)
        {
            lock (FileLock)
            {
                File.AppendAllText(file, $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss}Z {line}\n");
            }
        }
    }

    public static string Megabytes(long bytes) => $"{bytes / (1024.0 * 1024.0):F0} MB";

    public static string Milliseconds(TimeSpan time) => $"{time.TotalMilliseconds:F0} ms";

    /// <summary>The value below which <paramref name="fraction"/> of <paramref name="values"/> lie (nearest rank).</summary>
    public static TimeSpan Percentile(IReadOnlyList<TimeSpan> values, double fraction)
    {
        if (values.Count == 0)
        {
            return TimeSpan.Zero;
        }

        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}
