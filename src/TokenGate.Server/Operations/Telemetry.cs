using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace TokenGate.Server.Operations;

/// <summary>
/// Exports the metrics through OpenTelemetry's OTLP exporter (HTTP/protobuf) when an endpoint is configured
/// (<c>--otlp-endpoint</c>, <c>TOKENGATE_OTLP_ENDPOINT</c>): TokenGate's own meter plus ASP.NET Core's and Kestrel's.
/// Without one, the instruments are still there for <c>dotnet-counters</c>.
/// </summary>
public static class Telemetry
{
    public static readonly IReadOnlyList<string> ExportedMeters =
        [TokenGateMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime"];

    public static IServiceCollection AddTokenGateTelemetry(this IServiceCollection services, TelemetryOptions options)
    {
        if (options.OtlpEndpoint is not { } endpoint)
        {
            return services;
        }

        services.AddSingleton(_ => Sdk.CreateMeterProviderBuilder()
            .AddMeter([.. ExportedMeters])
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                exporter.Endpoint = MetricsEndpoint(endpoint);
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.OtlpExportInterval.TotalMilliseconds;
            })
            .Build());
        services.AddHostedService<MeterProviderLifetime>();
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
