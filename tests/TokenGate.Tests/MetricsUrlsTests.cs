using TokenGate.Cli;

namespace TokenGate.Tests;

/// <summary><c>--metrics-urls</c> is read with the grammar of <c>--urls</c>: a bad value is one line and exit 2, not an unhandled exception.</summary>
public sealed class MetricsUrlsTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Theory]
    [InlineData("banana")]
    [InlineData("http://127.0.0.1:99999")]
    public async Task Serve_with_metrics_urls_it_cannot_listen_on_exits_2_with_one_line(string urls)
    {
        var result = await _workspace.RunAsync("serve", "--urls", "http://127.0.0.1:0", "--metrics-urls", urls);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.Equal(
            $"error: --metrics-urls (TokenGate:MetricsUrls): '{urls}' is not where to listen; use http://HOST:PORT or https://HOST:PORT with a port of 0-65535 (0 picks a free one), ';'-separated, e.g. http://127.0.0.1:5080.\n",
            result.Error);
    }
}
