namespace TokenGate.Server.Operations;

/// <summary>
/// The time every console log line starts with (text) or carries as <c>Timestamp</c> (JSON): ISO 8601 in UTC to the millisecond,
/// e.g. <c>2026-11-22T10:00:00.123Z</c>. Without a format the console formatters write no time at all.
/// </summary>
public static class LogTimestamps
{
    public const string Format = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'";
}
