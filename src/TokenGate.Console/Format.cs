using System.Globalization;

namespace TokenGate.OperatorConsole;

/// <summary>How the console shows times, durations and counts: UTC, invariant culture.</summary>
public static class Format
{
    public static string Time(long unixSeconds) =>
        DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC";

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan span) =>
        span.TotalDays >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalDays} d {span.Hours} h {span.Minutes} min")
        : span.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours} h {span.Minutes} min")
        : string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes} min {span.Seconds} s");

    /// <summary>A return URL the sign-in may redirect to: a path of the console, never another site (<c>//host</c>, <c>/\host</c>).</summary>
    public static string SafeReturnUrl(string? url) =>
        url is not null && url.StartsWith(ConsoleOptions.Path, StringComparison.Ordinal) && !url.Contains('\\', StringComparison.Ordinal) && !url.Contains("//", StringComparison.Ordinal)
            ? url
            : ConsoleOptions.Path;
}
