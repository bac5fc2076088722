using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenGate.Client;
using TokenGate.Client.Caching;
using TokenGate.Client.Protocol;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers token clients. Each registration, named or not, provides an <see cref="ITokenProvider"/> and an
/// <see cref="ITokenApiClient"/> as keyed singletons under its name (and, for the unnamed one, as plain singletons too).
/// </summary>
public static class TokenGateClientServiceCollectionExtensions
{
    /// <summary>The unnamed token client, bound from a configuration section (e.g. <c>configuration.GetSection("TokenGate")</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section with <see cref="TokenClientOptions"/>' settings.</param>
    public static ITokenGateClientBuilder AddTokenGateClient(this IServiceCollection services, IConfiguration configuration) =>
        services.AddTokenGateClient(Options.Options.DefaultName, configuration);

    /// <summary>The unnamed token client, configured in code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="TokenClientOptions"/>.</param>
    public static ITokenGateClientBuilder AddTokenGateClient(this IServiceCollection services, Action<TokenClientOptions> configure) =>
        services.AddTokenGateClient(Options.Options.DefaultName, configure);

    /// <summary>A named token client (one per account, endpoint or address set), bound from a configuration section.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The name; resolve its provider with <c>[FromKeyedServices(name)] ITokenProvider</c>.</param>
    /// <param name="configuration">The section with <see cref="TokenClientOptions"/>' settings.</param>
    public static ITokenGateClientBuilder AddTokenGateClient(this IServiceCollection services, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddTokenGateClient(name);
        services.AddOptions<TokenClientOptions>(name).Bind(configuration);
        return builder;
    }

    /// <summary>A named token client (one per account, endpoint or address set), configured in code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The name; resolve its provider with <c>[FromKeyedServices(name)] ITokenProvider</c>.</param>
    /// <param name="configure">Sets <see cref="TokenClientOptions"/>.</param>
    public static ITokenGateClientBuilder AddTokenGateClient(this IServiceCollection services, string name, Action<TokenClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = services.AddTokenGateClient(name);
        services.Configure(name, configure);
        return builder;
    }

    /// <summary>A token client whose options are configured elsewhere (<c>services.Configure&lt;TokenClientOptions&gt;(name, ...)</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The name; empty for the unnamed client.</param>
    public static ITokenGateClientBuilder AddTokenGateClient(this IServiceCollection services, string name)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        var httpClientName = HttpClientName(name);
        var httpClient = services.AddHttpClient(httpClientName);
        services.AddOptions();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TokenClientOptions>, TokenClientOptionsValidator>());

        services.TryAddKeyedSingleton<ITokenApiClient>(name, (provider, _) =>
        {
            var options = provider.GetRequiredService<IOptionsMonitor<TokenClientOptions>>().Get(name);
            var factory = provider.GetRequiredService<IHttpClientFactory>();
            return new TokenApiClient(() => factory.CreateClient(httpClientName), options.Endpoint!, options.Format, options.RequestMethod, TimeOf(provider));
        });

        services.TryAddKeyedSingleton<ITokenProvider>(name, (provider, _) =>
        {
            var options = provider.GetRequiredService<IOptionsMonitor<TokenClientOptions>>().Get(name);
            var problems = TokenClientOptionsValidator.CredentialProblems(options).ToList();
            if (problems.Count > 0)
            {
                throw new OptionsValidationException(name, typeof(TokenClientOptions), problems);
            }

            var loggers = provider.GetRequiredService<ILoggerFactory>();
            var store = provider.GetKeyedService<ITokenStore>(name)
                ?? (options.CacheDirectory is { Length: > 0 } directory ? new FileTokenStore(directory, loggers.CreateLogger(LogCategories.FileStore)) : null);
            return new CachingTokenProvider(provider.GetRequiredKeyedService<ITokenApiClient>(name), options, store, TimeOf(provider), loggers.CreateLogger(LogCategories.Provider));
        });

        if (name.Length == 0)
        {
            services.TryAddSingleton(provider => provider.GetRequiredKeyedService<ITokenApiClient>(Options.Options.DefaultName));
            services.TryAddSingleton(provider => provider.GetRequiredKeyedService<ITokenProvider>(Options.Options.DefaultName));
        }

        return new TokenGateClientBuilder(name, services, httpClient);
    }

    /// <summary>Persists this client's token in <paramref name="store"/> instead of <see cref="TokenClientOptions.CacheDirectory"/>.</summary>
    /// <param name="builder">The token client.</param>
    /// <param name="store">Makes the store.</param>
    public static ITokenGateClientBuilder UseTokenStore(this ITokenGateClientBuilder builder, Func<IServiceProvider, ITokenStore> store)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(store);
        builder.Services.AddKeyedSingleton(builder.Name, (provider, _) => store(provider));
        return builder;
    }

    /// <summary>The name of the <see cref="HttpClient"/> that calls a token client's API.</summary>
    internal static string HttpClientName(string name) => name.Length == 0 ? "TokenGate.Client" : "TokenGate.Client:" + name;

    private static TimeProvider TimeOf(IServiceProvider provider) => provider.GetService<TimeProvider>() ?? TimeProvider.System;

    private sealed class TokenGateClientBuilder(string name, IServiceCollection services, IHttpClientBuilder httpClient) : ITokenGateClientBuilder
    {
        public string Name => name;

        public IServiceCollection Services => services;

        public IHttpClientBuilder TokenApiHttpClient => httpClient;
    }
}
