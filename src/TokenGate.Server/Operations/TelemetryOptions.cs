namespace TokenGate.Server.Operations;

/// <summary>Metrics export; bound from the <c>Otlp*</c> settings.</summary>
public sealed class TelemetryOptions
{
    /// <summary>Where to send metrics over OTLP/HTTP (a collector's base URL, e.g. http://127.0.0.1:4318); none by default.</summary>
    public Uri? OtlpEndpoint { get; set; }

    public TimeSpan OtlpExportInterval { get; set; } = TimeSpan.FromSeconds(15);
}
