using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using TokenGate.Operators;
using TokenGate.Server.Api;

namespace TokenGate.OperatorConsole;

/// <summary>
/// The console on a Kestrel server of its own, bound to <c>--console-urls</c> (as <see cref="MetricsListener"/> serves
/// <c>/metrics</c>): the API's listener then never serves <c>/console</c>, and this one serves nothing else. Its host takes the
/// core services from the server's, so both see one store, one throttle and one audit trail. It starts with the server, before
/// the API listens; a bad URL or a taken port fails the start.
/// </summary>
public sealed class ConsoleListener(TokenGateSettings settings, IServiceProvider server) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>Where the listener is bound, with the ports Kestrel chose for port 0; empty until it has started.</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        var certificate = ServerCertificate.Load(settings);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (certificate is not null)
            {
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
            }
        });
        builder.WebHost.UseUrls(settings.Console.Urls!.Split(';', ',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        // The server's logging, clock, settings and core services: the console's seam, shared rather than built twice.
        builder.Services.AddSingleton<ILoggerFactory>(new ServerLoggers(server.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddLogging();
        builder.Services.AddRouting();
        builder.Services.AddSingleton(server.GetRequiredService<TimeProvider>());
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(server.GetRequiredService<AccountService>());
        builder.Services.AddSingleton(server.GetRequiredService<OperatorService>());
        builder.Services.AddSingleton(server.GetRequiredService<AuditService>());
        builder.Services.AddSingleton(server.GetRequiredService<LoginGate>());
        builder.Services.AddSingleton(server.GetRequiredService<HealthCheckService>());
        builder.Services.AddSingleton(server.GetRequiredService<ConsoleActivity>());
        builder.Services.AddSingleton(server.GetRequiredService<TokenGateMetrics>());
        TokenGateConsole.AddConsoleServices(builder.Services);
        _app = builder.Build();

        _app.UseSecurityHeaders();
        _app.UseStrictTransportSecurity(settings.HstsMaxAge);
        TokenGateConsole.MapConsole(_app);
        _app.MapFallback(static context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        await _app.StartAsync(cancellationToken);
        Addresses = [.. _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses];
        ConsoleLog.ServingOwnListener(server.GetRequiredService<ILoggerFactory>().CreateLogger("TokenGate.Console"), string.Join(", ", Addresses.Select(address => address.TrimEnd('/') + ConsoleOptions.Path)));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>
    /// The server's loggers, but for the host lifetime's lines: "Now listening on" from this host would be read as where the API
    /// listens (the console's own line names its address instead).
    /// </summary>
    private sealed class ServerLoggers(ILoggerFactory server) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) =>
            categoryName.StartsWith("Microsoft.Hosting.Lifetime", StringComparison.Ordinal) ? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance : server.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }
    }
}
