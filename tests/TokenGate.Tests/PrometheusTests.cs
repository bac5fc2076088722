using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.Json;
using System.Text.RegularExpressions;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// <c>--metrics-urls</c> with the real executable, read by Prometheus's own tools (Debian's <c>prometheus</c> package): the scrape
/// counts exactly the traffic sent and passes <c>promtool check metrics</c>; the alert rules pass <c>promtool check rules</c> and
/// their unit tests; a real Prometheus server scrapes TokenGate and answers a rate query; the Grafana dashboard queries only
/// metrics that a scrape exposes.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed partial class PrometheusTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly Regex Listening = new(@"Now listening on: (http://127\.0\.0\.1:\d+)");
    private static readonly Regex ServingMetrics = new(@"Serving Prometheus metrics on (http://127\.0\.0\.1:\d+)/metrics");

    [Fact(Timeout = 180_000)]
    public async Task The_scrape_counts_exactly_the_traffic_sent_passes_promtool_and_is_not_served_on_the_api_port()
    {
        var promtool = ExternalTool.Require("prometheus", "/usr/bin/promtool", "promtool");
        await using var server = await MetricsServer.StartAsync();
        var api = new TokenApiClient(server.Api);

        // Three clients, three source addresses: three new tokens, each bound to its client's address.
        var clients = new[] { "127.0.0.1", "127.0.0.2", "127.0.0.3" }.Select(source => new TokenApiClient(server.CreateApiClient(IPAddress.Parse(source)))).ToList();
        var before = Samples.Parse(await server.ScrapeAsync());
        var tokens = new List<string>();
        foreach (var client in clients)
        {
            tokens.Add((await client.GetTokenAsync("scraped", "scraped password")).Token!);
        }

        for (var i = 0; i < 5; i++)
        {
            Assert.True((await clients[i % clients.Count].ValidateAsync(tokens[i % tokens.Count])).Success);
        }

        Assert.True((await api.DeleteAsync(tokens[0])).Success);
        Assert.Equal("Invalid token", (await api.ValidateAsync(tokens[0])).Error);
        Assert.Equal("Authentication failure", (await api.GetTokenAsync("scraped", "wrong password")).Error);
        Assert.Equal("Authentication failure", (await api.GetTokenAsync("scraped", "wrong again")).Error);
        var scrape = await server.ScrapeAsync();
        var after = Samples.Parse(scrape);

        long Moved(string series) => after.Value(series) - before.Value(series);
        Assert.Equal(3, Moved("""tokengate_requests_total{otel_scope_name="TokenGate.Server",action="get",outcome="success"}"""));
        Assert.Equal(2, Moved("""tokengate_requests_total{otel_scope_name="TokenGate.Server",action="get",outcome="Authentication failure"}"""));
        Assert.Equal(5, Moved("""tokengate_requests_total{otel_scope_name="TokenGate.Server",action="validate",outcome="success"}"""));
        Assert.Equal(1, Moved("""tokengate_requests_total{otel_scope_name="TokenGate.Server",action="validate",outcome="Invalid token"}"""));
        Assert.Equal(1, Moved("""tokengate_requests_total{otel_scope_name="TokenGate.Server",action="delete",outcome="success"}"""));
        Assert.Equal(3, Moved("""tokengate_tokens_issued_total{otel_scope_name="TokenGate.Server"}"""));
        Assert.Equal(1, Moved("""tokengate_tokens_deleted_total{otel_scope_name="TokenGate.Server"}"""));
        Assert.Equal(2, Moved("""tokengate_authentication_failures_total{otel_scope_name="TokenGate.Server"}"""));
        Assert.Equal(6, Moved("""tokengate_request_duration_seconds_count{otel_scope_name="TokenGate.Server",action="validate"}"""));
        Assert.Contains("process_cpu_time_seconds_total", scrape, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_collections_total", scrape, StringComparison.Ordinal);
        Assert.Contains("tokengate_sqlite_write_batch_size_bucket", scrape, StringComparison.Ordinal);
        Assert.All(tokens, token => Assert.DoesNotContain(token, scrape, StringComparison.Ordinal));
        Assert.DoesNotContain("scraped", scrape, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.2", scrape, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.3", scrape, StringComparison.Ordinal);

        // Exit 0 is a clean scrape, 3 lint findings; a parse error is 1. The only findings allowed are those about the runtime's and
        // the process's own names (dotnet_timer_count and the like end in _count without being histograms).
        var check = await RunAsync(promtool, ["check", "metrics"], scrape);
        Assert.True(check.ExitCode is 0 or 3, $"promtool check metrics exited {check.ExitCode}:\n{check.Output}");
        var findings = check.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(findings, finding => Assert.Matches(@"^(dotnet|process)_\w+ non-histogram and non-summary metrics should not have ""_count"" suffix$", finding));

        // OpenMetrics when asked for it.
        using var openMetrics = new HttpRequestMessage(HttpMethod.Get, "metrics");
        openMetrics.Headers.Accept.ParseAdd("application/openmetrics-text; version=1.0.0");
        using var answer = await server.Metrics.SendAsync(openMetrics);
        Assert.Equal("application/openmetrics-text", answer.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("# EOF\n", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The API's port answers /metrics with the contract's 404, and the metrics port serves nothing but /metrics.
        var onApi = await server.Api.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.NotFound, onApi.StatusCode);
        Assert.Equal("Not found", ContractBody.ParseJson(await onApi.Content.ReadAsStringAsync()).Error);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Metrics.GetAsync("token.php?action=validate&token=x")).StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_alert_rules_pass_promtool_check_rules_and_their_unit_tests()
    {
        var promtool = ExternalTool.Require("prometheus", "/usr/bin/promtool", "promtool");
        var directory = RepositoryPaths.Of("deploy", "prometheus");

        var check = await RunAsync(promtool, ["check", "rules", Path.Combine(directory, "alerts.yml")]);
        var test = await RunAsync(promtool, ["test", "rules", Path.Combine(directory, "alerts.test.yml")]);

        Assert.True(check.ExitCode == 0, check.Output);
        Assert.Contains("SUCCESS: 8 rules found", check.Output, StringComparison.Ordinal);
        Assert.True(test.ExitCode == 0, test.Output);
        Assert.Contains("SUCCESS", test.Output, StringComparison.Ordinal);

        // Every alert has a unit test, and every runbook link names a section of docs/OPERATIONS.md.
        var rules = await File.ReadAllTextAsync(Path.Combine(directory, "alerts.yml"));
        var tests = await File.ReadAllTextAsync(Path.Combine(directory, "alerts.test.yml"));
        var operations = await File.ReadAllTextAsync(RepositoryPaths.Of("docs", "OPERATIONS.md"));
        var alerts = AlertName().Matches(rules).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(8, alerts.Count);
        Assert.All(alerts, alert =>
        {
            Assert.Contains($"alertname: {alert}\n", tests, StringComparison.Ordinal);
            Assert.Contains($"docs/OPERATIONS.md#{alert.ToLowerInvariant()}", rules, StringComparison.Ordinal);
            Assert.Contains($"### {alert}\n", operations, StringComparison.Ordinal);
        });
    }

    [Fact(Timeout = 180_000)]
    public async Task A_real_prometheus_server_scrapes_tokengate_and_finds_the_issued_tokens_rate()
    {
        var prometheus = ExternalTool.Require("prometheus", "/usr/bin/prometheus", "prometheus");
        await using var server = await MetricsServer.StartAsync();
        using var directory = new TempDirectory("tokengate-prometheus");
        var target = server.Metrics.BaseAddress!.Authority;
        await File.WriteAllTextAsync(directory.File("prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: tokengate
                static_configs:
                  - targets: ["{target}"]
            """);
        var port = FreePort();
        using var process = Process.Start(new ProcessStartInfo(prometheus)
        {
            ArgumentList =
            {
                "--config.file=" + directory.File("prometheus.yml"), "--storage.tsdb.path=" + directory.File("data"),
                $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        try
        {
            using var query = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(5) };
            var api = new TokenApiClient(server.Api);
            var rate = Uri.EscapeDataString("""rate(tokengate_tokens_issued_total{job="tokengate"}[10s])""");
            var deadline = DateTime.UtcNow.AddSeconds(60);
            var issued = 0;
            string? found = null;
            while (found is null && DateTime.UtcNow < deadline && !process.HasExited)
            {
                Assert.True((await api.GetTokenAsync("scraped", "scraped password", $"198.51.100.{issued++ % 250 + 1}")).Success);
                await Task.Delay(250);
                try
                {
                    using var body = JsonDocument.Parse(await query.GetStringAsync($"api/v1/query?query={rate}"));
                    var result = body.RootElement.GetProperty("data").GetProperty("result");
                    if (result.GetArrayLength() > 0 && double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture) > 0)
                    {
                        found = result[0].ToString();
                    }
                }
                catch (HttpRequestException)
                {
                    // Prometheus is still starting.
                }
            }

            if (process.HasExited)
            {
                Assert.Fail($"prometheus exited ({process.ExitCode}): {await errors}");
            }

            Assert.True(found is not null, $"No issued-tokens rate within 60 s after {issued} tokens.");
            Assert.Contains("\"job\":\"tokengate\"", found!.Replace(" ", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task Every_metric_the_grafana_dashboard_queries_is_in_a_scrape()
    {
        // A low block threshold so that a third wrong password is refused with 429 and the refusal counter exists.
        await using var server = await MetricsServer.StartAsync(new Dictionary<string, string>
        {
            ["TOKENGATE_LOGIN_DELAY_AFTER"] = "2",
            ["TOKENGATE_LOGIN_BLOCK_AFTER"] = "2",
        });
        var api = new TokenApiClient(server.Api);
        var token = (await api.GetTokenAsync("scraped", "scraped password")).Token!;
        await api.ValidateAsync(token);
        await api.DeleteAsync(token);
        for (var i = 0; i < 4; i++)
        {
            await api.GetTokenAsync("scraped", "wrong password " + i);
        }

        // The gauges of live tokens and accounts are set by the sweeper, at start and then every SweepInterval (1 s here).
        await Task.Delay(TimeSpan.FromSeconds(2));
        var exposed = Samples.Parse(await server.ScrapeAsync()).Names;
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(RepositoryPaths.Of("deploy", "grafana", "tokengate.json")));
        var queried = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(panel => panel.TryGetProperty("targets", out _))
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray())
            .SelectMany(target => MetricName().Matches(target.GetProperty("expr").GetString()!).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);

        Assert.True(queried.Count >= 12, string.Join(", ", queried));
        Assert.All(queried, name => Assert.True(exposed.Contains(name), $"The dashboard queries {name}, which no scrape exposes."));
    }

    [GeneratedRegex(@"- alert: (\w+)")]
    private static partial Regex AlertName();

    // A series selector: a metric name followed by its label matchers.
    [GeneratedRegex(@"\b([a-z_][a-z0-9_]*)\{")]
    private static partial Regex MetricName();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, string[] arguments, string? input = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(input ?? string.Empty);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    /// <summary>tokengate serve with an account "scraped", its API and its metrics listener on free loopback ports.</summary>
    private sealed class MetricsServer : IAsyncDisposable
    {
        private readonly TempDirectory _directory;
        private readonly TokenGateProcess _process;
        private readonly Uri _api;

        private MetricsServer(TempDirectory directory, TokenGateProcess process, Uri api, Uri metrics)
        {
            _directory = directory;
            _process = process;
            _api = api;
            Api = LoopbackClient.Create(api);
            Metrics = new HttpClient { BaseAddress = metrics, Timeout = TimeSpan.FromSeconds(10) };
        }

        public HttpClient Api { get; }

        public HttpClient Metrics { get; }

        public static async Task<MetricsServer> StartAsync(IReadOnlyDictionary<string, string>? environment = null)
        {
            var directory = new TempDirectory("tokengate-metrics");
            var database = directory.File("tokengate.db");
            var added = await CliWorkspace.InvokeAsync(["account", "add", "scraped", "--password", "scraped password", "--database", database], string.Empty);
            Assert.Equal(0, added.ExitCode);
            var process = TokenGateProcess.Start(
                directory.Path,
                new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["TOKENGATE_SWEEP_INTERVAL"] = "1s" },
                "serve", "--urls", "http://127.0.0.1:0", "--metrics-urls", "http://127.0.0.1:0", "--database", database);
            var metrics = (await process.WaitForOutputAsync(ServingMetrics, StartTimeout)).Groups[1].Value;
            var api = (await process.WaitForOutputAsync(Listening, StartTimeout)).Groups[1].Value;
            return new MetricsServer(directory, process, new Uri(api + "/"), new Uri(metrics + "/"));
        }

        public HttpClient CreateApiClient(IPAddress source) => LoopbackClient.Create(_api, source);

        public Task<string> ScrapeAsync() => Metrics.GetStringAsync("metrics");

        public async ValueTask DisposeAsync()
        {
            Api.Dispose();
            Metrics.Dispose();
            if (!_process.HasExited)
            {
                await _process.TerminateAsync(TimeSpan.FromSeconds(15));
            }

            _process.Dispose();
            _directory.Dispose();
        }
    }

    /// <summary>The samples of a Prometheus text scrape, by series (name and labels as written).</summary>
    private sealed class Samples(Dictionary<string, double> values)
    {
        public IReadOnlySet<string> Names { get; } = values.Keys.Select(series => series.Split('{')[0]).ToHashSet(StringComparer.Ordinal);

        public static Samples Parse(string scrape) => new(scrape.Split('\n')
            .Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => (Series: line[..line.LastIndexOf(' ')], Value: double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
            .ToDictionary(sample => sample.Series, sample => sample.Value, StringComparer.Ordinal));

        public long Value(string series) => (long)values.GetValueOrDefault(series);
    }
}
