using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using TokenGate.Accounts;
using TokenGate.Caching;
using TokenGate.Contract;
using TokenGate.Operators;
using TokenGate.Security;
using TokenGate.Server.Api;
using TokenGate.Server.Maintenance;

namespace TokenGate.Server.Hosting;

/// <summary>Builds the TokenGate server: configuration, services, Kestrel limits and the endpoints.</summary>
public static class TokenGateApplication
{
    /// <summary>The host's switch for watching configuration files (hostBuilder:reloadConfigOnChange).</summary>
    public const string ReloadConfigOnChangeKey = "hostBuilder:reloadConfigOnChange";

    /// <summary>
    /// Builds the server and opens (creating or migrating) its database, so that a bad database fails before anything listens.
    /// <paramref name="overrides"/> are configuration keys set on the command line; they win over environment and files.
    /// </summary>
    public static async Task<WebApplication> BuildAsync(
        IEnumerable<KeyValuePair<string, string?>>? overrides = null,
        Action<WebApplicationBuilder>? customize = null,
        CancellationToken cancellationToken = default)
    {
        // appsettings.json is read once, at start, like every other setting (TokenGateSettings is built once). The framework's
        // default would watch the content root for changes, recursively: with the database under it (./data by default),
        // every commit woke a FileSystemWatcher, 8% of the server's CPU while issuing tokens.
        var builder = TokenGateConfiguration.ReadingFiles(() => WebApplication.CreateBuilder(new WebApplicationOptions { Args = [$"--{ReloadConfigOnChangeKey}=false"] }));

        // Defaults that any configuration source may override: the framework's per-request chatter off.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            },
        });
        builder.Configuration.AddTokenGateEnvironmentVariables();
        builder.Configuration.AddInMemoryCollection(overrides ?? []);
        customize?.Invoke(builder);

        var settings = TokenGateSettings.FromConfiguration(builder.Configuration);
        settings.EnsureServable();
        builder.WebHost.UseUrls(settings.Urls.Split(';', ',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var certificate = ServerCertificate.Load(settings);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ConfigureEndpointDefaults(listen => listen.UseContentLengthScreen());
            ServerLimits.Apply(kestrel.Limits, settings.MaxConnections);
            if (certificate is not null)
            {
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
            }
        });
        if (settings.LogFormat == "json")
        {
            // Switches the console provider's formatter; other providers stay.
            builder.Logging.AddJsonConsole(json =>
            {
                json.UseUtcTimestamp = true;
                json.TimestampFormat = LogTimestamps.Format;
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(text =>
            {
                text.UseUtcTimestamp = true;
                text.TimestampFormat = LogTimestamps.Format + " ";
            });
        }

        builder.Logging.SilenceSecretBearingCategories();
        builder.Services.AddTokenGateTelemetry(settings.Telemetry);
        builder.Services.AddTokenGateServer(settings);
        var extensions = Extensions(builder.Services);
        foreach (var extension in extensions)
        {
            extension.AddServices(builder, settings);
        }

        var app = builder.Build();
        var store = app.Services.GetRequiredService<ITokenGateStore>();
        await store.InitializeAsync(cancellationToken);
        await KeyRing.EnsureCompleteAsync(app.Services, settings, cancellationToken);
        LogStartup(app, settings);
        var clashes = await AccountNameClashes.FindAsync(store, app.Services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeSeconds(), cancellationToken);
        if (clashes.Count > 0)
        {
            Log.AccountNameClashes(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TokenGate"), AccountNameClashes.Describe(clashes));
        }

        app.UseTokenGate(settings, extensions);
        return app;
    }

    /// <summary>The <see cref="ITokenGateExtension"/> instances registered by <c>customize</c>.</summary>
    private static List<ITokenGateExtension> Extensions(IServiceCollection services) =>
        [.. services.Where(service => service.ServiceType == typeof(ITokenGateExtension)).Select(service => service.ImplementationInstance).OfType<ITokenGateExtension>()];

    public static IServiceCollection AddTokenGateServer(this IServiceCollection services, TokenGateSettings settings)
    {
        settings.AddTo(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(settings.Passwords.Policy);
        services.TryAddSingleton<IPasswordHasher>(new IdentityPasswordHasher(settings.Passwords.HashIterations));
        // On the real clock whatever clock the rest runs on: its waits are load shedding, not policy (a test's manual clock
        // would never end them).
        services.AddSingleton(new PasswordHashingQueue(settings.Passwords, TimeProvider.System, settings.LoginThrottle.Ipv6Prefix));
        services.TryAddSingleton(provider => TokenGateStores.Create(settings.Database, provider.GetService<ILoggerFactory>()));
        services.AddSingleton(_ => new LoadedKeyRing(KeyRing.Load(settings)));
        services.AddSingleton<ITokenSealer>(provider => new AesGcmTokenSealer(provider.GetRequiredService<LoadedKeyRing>()));
        services.AddSingleton(provider => new TokenTagger(provider.GetRequiredService<LoadedKeyRing>()));
        services.AddSingleton(new TokenCaches(settings.CacheOptions));
        services.AddSingleton<TokenService>();

        // One validator (and so one set of caches) for token.php, OAuth2 and the issuing side.
        services.AddSingleton(provider => provider.GetRequiredService<TokenService>().Validator);
        services.AddSingleton<AccountService>();

        // The operator console's seam to the core: operators, and the audit trail it searches and writes.
        services.AddSingleton(provider => new OperatorService(
            provider.GetRequiredService<ITokenGateStore>(), provider.GetRequiredService<IPasswordHasher>(), settings.Passwords.Policy, provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton(provider => new AuditService(provider.GetRequiredService<ITokenGateStore>()));
        services.AddSingleton(provider => new TokenGateMetrics(
            provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), TokenGateStores.IsPostgres(settings.Database) ? null : settings.Database));
        services.AddSingleton(provider => new LoginThrottle(
            provider.GetRequiredService<ITokenGateStore>(), provider.GetRequiredService<ITokenGateStore>(), settings.LoginThrottle, provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<LoginGate>();
        services.AddSingleton<TokenIssuance>();
        services.AddSingleton<TokenEndpoint>();
        services.AddSingleton<OAuth2Endpoints>();
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("store", tags: ["ready"]);
        services.AddHostedService<ExpiredTokenSweeper>();
        services.AddSingleton<KeyRingReloader>();
        services.AddHostedService(provider => provider.GetRequiredService<KeyRingReloader>());
        services.AddSingleton<AuditTrail>();
        services.AddHostedService<AuditWriter>();
        return services;
    }

    private static void UseTokenGate(this WebApplication app, TokenGateSettings settings, IReadOnlyList<ITokenGateExtension> extensions)
    {
        app.UseSecurityHeaders();
        app.UseStrictTransportSecurity(settings.HstsMaxAge);
        app.UseRequestGuards();
        if (settings.TrustedProxies.Count > 0 || settings.TrustUnixSocketProxy)
        {
            var forwarded = new ForwardedHeadersOptions
            {
                ForwardedHeaders = ForwardedHeaders.XForwardedFor,
                ForwardLimit = null,
                RequireHeaderSymmetry = false,
            };
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var network in settings.TrustedProxies)
            {
                forwarded.KnownIPNetworks.Add(network);
            }

            // ASP.NET Core's middleware skips its known-proxy test for a peer without an IP address (a Unix socket): such a peer
            // is believed only when --trusted-proxy unix says so, else the header is not read at all.
            var trustUnix = settings.TrustUnixSocketProxy;
            app.UseWhen(context => trustUnix || context.Connection.RemoteIpAddress is not null, branch => branch.UseForwardedHeaders(forwarded));
        }

        if (settings.RequestLog)
        {
            app.UseTokenGateRequestLog(app.Services.GetRequiredService<ILoggerFactory>());
        }

        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = context =>
            {
                SecurityHeaders.Apply(context.Response);
                // A storage fault that escaped an endpoint's own handling is still an outage, not a bug: 503, retry shortly. Each
                // API area answers in its own format (its endpoints carry an ApiFailureWriter); the rest in the contract's.
                var failure = context.Features.Get<IExceptionHandlerFeature>();
                if (failure?.Endpoint?.Metadata.GetMetadata<ApiFailureWriter>() is { } writer)
                {
                    return writer.WriteAsync(context, failure.Error);
                }

                return TokenEndpoint.WriteAsync(
                    context,
                    failure?.Error is StorageUnavailableException
                        ? TokenEndpoint.ServiceUnavailable(context)
                        : ContractResponse.Failure(ContractErrors.InternalError, StatusCodes.Status500InternalServerError));
            },
        });

        foreach (var extension in extensions)
        {
            extension.Map(app, settings);
        }

        var endpoint = app.Services.GetRequiredService<TokenEndpoint>();
        app.Map("/token.php", endpoint.HandleAsync);
        app.Map("/api/token.php", endpoint.HandleAsync);
        app.MapApiDocument();
        app.MapLanding();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthResponse.WriteAsync });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready"), ResponseWriter = HealthResponse.WriteAsync });
        var oauth2 = app.Services.GetRequiredService<OAuth2Endpoints>();
        var group = app.MapGroup("/oauth2").WithMetadata(new ApiFailureWriter(OAuth2Endpoints.WriteFailureAsync));
        group.Map("/token", oauth2.TokenAsync);
        group.Map("/revoke", oauth2.RevokeAsync);
        group.Map("/introspect", oauth2.IntrospectAsync);
        app.MapGet(OAuth2Metadata.Path, OAuth2Metadata.WriteAsync);
        app.MapFallback("{*path}", context => TokenEndpoint.WriteAsync(context, ContractResponse.Failure(ContractErrors.NotFound, StatusCodes.Status404NotFound)));
    }

    private static void LogStartup(WebApplication app, TokenGateSettings settings)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TokenGate");
        var key = app.Services.GetRequiredService<LoadedKeyRing>().Ring.Active;
        Log.Started(logger, TokenGateStores.Describe(settings.Database), settings.SealingKey is null ? settings.ResolvedKeyFile : "(from configuration)", key.Fingerprint);
        if (settings.Passwords.HashIterations < IdentityPasswordHasher.DefaultIterations)
        {
            Log.WeakHashing(logger, settings.Passwords.HashIterations, IdentityPasswordHasher.DefaultIterations);
        }

        if (settings.TrustedProxies.Count > 0 || settings.TrustUnixSocketProxy)
        {
            Log.TrustingProxies(logger, string.Join(", ", settings.TrustUnixSocketProxy ? [.. settings.TrustedProxies.Select(network => network.ToString()), "unix"] : settings.TrustedProxies.Select(network => network.ToString())));
        }
    }
}
