using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using TokenGate.Server.Api;

namespace TokenGate.Server.Operations;

/// <summary>
/// <c>/metrics</c> for Prometheus (text format, or OpenMetrics when the scraper asks for it) on a Kestrel server of its own,
/// bound to <c>--metrics-urls</c>. Being a separate server, not a route of the API's, the API's listener cannot serve it
/// (there <c>/metrics</c> stays the contract's 404), and of the API's pipeline only its security headers run for a scrape (not
/// the request log, nor the contract's fallback). It starts with the host, before the API listens, and a bad URL or a taken port
/// fails the start.
/// </summary>
public sealed class MetricsListener(string urls, MeterProvider meterProvider, ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    public const string Path = "/metrics";

    private WebApplication? _server;

    /// <summary>Where the listener is bound, with the ports Kestrel chose for port 0; empty until it has started.</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // An empty builder: no configuration files (nothing to watch), no logging of its own, Kestrel and nothing more.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.WebHost.UseUrls(urls.Split(';', ',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        _server = builder.Build();

        // The API's nosniff and no-referrer headers on every answer of this listener too (docs/SECURITY.md).
        _server.UseSecurityHeaders();
        _server.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider, predicate: null, path: Path, configureBranchedPipeline: null, optionsName: null);
        _server.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        await _server.StartAsync(cancellationToken);
        Addresses = [.. _server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses];
        Log.ServingMetrics(loggerFactory.CreateLogger("TokenGate"), string.Join(", ", Addresses.Select(address => address + Path)));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }
}
