using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using TokenGate.Storage.Sqlite;

namespace TokenGate.Server.Operations;

/// <summary>
/// Exports the metrics through OpenTelemetry: over OTLP (HTTP/protobuf) when an endpoint is configured (<c>--otlp-endpoint</c>,
/// <c>TOKENGATE_OTLP_ENDPOINT</c>), and for Prometheus to scrape on a listener of its own when <c>--metrics-urls</c> is given.
/// Both read the same instruments: TokenGate's own meters, Kestrel's, the runtime's, the process's and Npgsql's. ASP.NET Core's
/// hosting meter is left out: it measures every request again (by route, method and status) and listening to it cost 5-6% of
/// validate's throughput (docs/PERFORMANCE.md, issue 19); TokenGate's request meter has the same by action and outcome. Without either, the instruments are still there for <c>dotnet-counters</c>.
/// </summary>
public static class Telemetry
{
    public static readonly IReadOnlyList<string> ExportedMeters =
    [
        TokenGateMetrics.MeterName, SqliteStoreMetrics.MeterName, "Npgsql",
        "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime",
    ];

    public static IServiceCollection AddTokenGateTelemetry(this IServiceCollection services, TelemetryOptions options)
    {
        var prometheus = options.MetricsUrls is { Length: > 0 };
        if (options.OtlpEndpoint is null && !prometheus)
        {
            return services;
        }

        services.AddSingleton(_ =>
        {
            var builder = Sdk.CreateMeterProviderBuilder()
                .AddMeter([.. ExportedMeters])
                .AddProcessInstrumentation();
            if (options.OtlpEndpoint is { } endpoint)
            {
                builder.AddOtlpExporter((exporter, reader) =>
                {
                    exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                    exporter.Endpoint = MetricsEndpoint(endpoint);
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.OtlpExportInterval.TotalMilliseconds;
                });
            }

            if (prometheus)
            {
                // Every scrape collects afresh: Prometheus scrapes every few seconds at most, and a cached answer would show a
                // counter that has already moved as if it had not.
                builder.AddPrometheusExporter(prometheusOptions => prometheusOptions.ScrapeResponseCacheDurationMilliseconds = 0);
            }

            return builder.Build();
        });
        services.AddHostedService<MeterProviderLifetime>();
        if (prometheus)
        {
            services.AddSingleton(provider => new MetricsListener(
                options.MetricsUrls!, provider.GetRequiredService<MeterProvider>(), provider.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>()));
            services.AddHostedService(provider => provider.GetRequiredService<MetricsListener>());
        }

        return services;
    }

    /// <summary>A base URL gets the OTLP/HTTP metrics path; a URL that already has a path is used as it is.</summary>
    public static Uri MetricsEndpoint(Uri endpoint) =>
        endpoint.AbsolutePath is "" or "/" ? new Uri(endpoint, "v1/metrics") : endpoint;

    /// <summary>Creates the meter provider at start (so collection begins at once) and flushes it at stop.</summary>
    private sealed class MeterProviderLifetime(MeterProvider provider) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            provider.ForceFlush(timeoutMilliseconds: 2000);
            return Task.CompletedTask;
        }
    }
}
