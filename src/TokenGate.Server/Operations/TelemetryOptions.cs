namespace TokenGate.Server.Operations;

/// <summary>Metrics export; bound from the <c>Otlp*</c> and <c>MetricsUrls</c> settings.</summary>
public sealed class TelemetryOptions
{
    /// <summary>Where to send metrics over OTLP/HTTP (a collector's base URL, e.g. http://127.0.0.1:4318); none by default.</summary>
    public Uri? OtlpEndpoint { get; set; }

    public TimeSpan OtlpExportInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Where a listener of its own serves <c>/metrics</c> for Prometheus (';'-separated URLs, e.g. http://10.0.0.5:9464); none by
    /// default. The API's listener never serves it.
    /// </summary>
    public string? MetricsUrls { get; set; }
}
