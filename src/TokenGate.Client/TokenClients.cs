using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TokenGate.Client.Caching;
using TokenGate.Client.Http;
using TokenGate.Client.Protocol;

namespace TokenGate.Client;

/// <summary>
/// Builds the client's parts without dependency injection. With a service collection, use <c>AddTokenGateClient</c> and
/// <c>AddTokenGateToken</c> instead; they build the same parts.
/// </summary>
public static class TokenClients
{
    /// <summary>The low-level client for the four actions at <see cref="TokenClientOptions.Endpoint"/>.</summary>
    /// <param name="httpClient">Sends the requests; its timeout applies. Kept and used for every call.</param>
    /// <param name="options">Endpoint, format and request method (credentials are not needed here).</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> by default.</param>
    public static ITokenApiClient CreateApiClient(HttpClient httpClient, TokenClientOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        TokenClientOptionsValidator.ThrowIfInvalid(Microsoft.Extensions.Options.Options.DefaultName, options, needsCredentials: false);
        return new TokenApiClient(() => httpClient, options.Endpoint!, options.Format, options.RequestMethod, timeProvider ?? TimeProvider.System);
    }

    /// <summary>A caching token provider for the account in <paramref name="options"/>.</summary>
    /// <param name="httpClient">Sends the requests to the token API; its timeout bounds each <c>get</c>.</param>
    /// <param name="options">Endpoint, credentials, addresses, renewal margin and cache directory. Read once, here.</param>
    /// <param name="timeProvider">The clock for every renewal decision; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="store">
    /// A persistent store; by default a file store in <see cref="TokenClientOptions.CacheDirectory"/> when that is set, else none.
    /// </param>
    /// <param name="loggerFactory">Where the provider logs; nowhere by default.</param>
    public static ITokenProvider CreateProvider(
        HttpClient httpClient,
        TokenClientOptions options,
        TimeProvider? timeProvider = null,
        ITokenStore? store = null,
        ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        TokenClientOptionsValidator.ThrowIfInvalid(Microsoft.Extensions.Options.Options.DefaultName, options, needsCredentials: true);
        var time = timeProvider ?? TimeProvider.System;
        loggerFactory ??= NullLoggerFactory.Instance;
        var api = new TokenApiClient(() => httpClient, options.Endpoint!, options.Format, options.RequestMethod, time);
        store ??= options.CacheDirectory is { Length: > 0 } directory ? CreateFileStore(directory, loggerFactory) : null;
        return new CachingTokenProvider(api, options, store, time, loggerFactory.CreateLogger(LogCategories.Provider));
    }

    /// <summary>
    /// A handler that attaches <paramref name="provider"/>'s token to each request and renews it once when it is refused. Set
    /// its <see cref="DelegatingHandler.InnerHandler"/> (e.g. a <see cref="SocketsHttpHandler"/>) and give it to an
    /// <see cref="HttpClient"/>.
    /// </summary>
    /// <param name="provider">Supplies the token.</param>
    /// <param name="options">Where the token goes; a query parameter named <c>token</c> by default.</param>
    /// <param name="loggerFactory">Where the handler logs; nowhere by default.</param>
    public static DelegatingHandler CreateHandler(ITokenProvider provider, TokenHandlerOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(provider);
        return new TokenHandler(provider, options ?? new TokenHandlerOptions(), (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(LogCategories.Handler));
    }

    /// <summary>
    /// The built-in persistent store: one file per cache key in <paramref name="directory"/> (created with mode 0700 if
    /// missing), written atomically with mode 0600; a corrupt or foreign file is ignored.
    /// </summary>
    /// <param name="directory">Where the files go.</param>
    /// <param name="loggerFactory">Where the store logs ignored files; nowhere by default.</param>
    public static ITokenStore CreateFileStore(string directory, ILoggerFactory? loggerFactory = null) =>
        new FileTokenStore(directory, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(LogCategories.FileStore));
}
