using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>Both console log formats carry an ISO 8601 UTC time on every line, read here from the real executable's first line.</summary>
public sealed class LogTimestampTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly Regex TextLine = new(@"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) info: TokenGate\[", RegexOptions.Multiline);

    [Fact(Timeout = 120_000)]
    public async Task A_text_log_line_starts_with_an_iso_8601_utc_time()
    {
        using var directory = new TempDirectory("tokengate-logs");
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        using var server = TokenGateProcess.Start(directory.Path, "serve", "--urls", "http://127.0.0.1:0", "--database", directory.File("tokengate.db"));

        var at = (await server.WaitForOutputAsync(TextLine, StartTimeout)).Groups[1].Value;
        await server.TerminateAsync(StartTimeout);

        AssertRecent(DateTimeOffset.ParseExact(at, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal), before);
        Assert.StartsWith(at + " info: ", server.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_json_log_line_has_an_iso_8601_utc_timestamp()
    {
        using var directory = new TempDirectory("tokengate-logs");
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        using var server = TokenGateProcess.Start(directory.Path, "serve", "--urls", "http://127.0.0.1:0", "--database", directory.File("tokengate.db"), "--log-format", "json");

        await server.WaitForOutputAsync(new Regex("Now listening on"), StartTimeout);
        await server.TerminateAsync(StartTimeout);

        var first = JsonDocument.Parse(server.Output.Split('\n')[0]).RootElement;
        var timestamp = first.GetProperty("Timestamp").GetString()!;
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", timestamp);
        AssertRecent(DateTimeOffset.Parse(timestamp, CultureInfo.InvariantCulture), before);
    }

    private static void AssertRecent(DateTimeOffset at, DateTimeOffset before)
    {
        Assert.Equal(TimeSpan.Zero, at.Offset);
        Assert.InRange(at, before, DateTimeOffset.UtcNow.AddSeconds(1));
    }
}
