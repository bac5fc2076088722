using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGate.Caching;
using TokenGate.Security;
using TokenGate.Storage;
using TokenGate.Tokens;

namespace TokenGate.AspNetCore.Validation;

/// <summary>
/// One verifier per scheme, made on the scheme's first request from its options and kept for the application's life (with its
/// caches). Local mode builds only a <see cref="TokenValidator"/>: the application's own when it has one (the server itself),
/// otherwise one over a lookup store with the scheme's <see cref="TokenGateOptions.ExpiredRetention"/> (the server's) and, when
/// the scheme names it, the server's key (<see cref="TokenGateOptions.KeyFile"/>). Stores
/// opened here from <see cref="TokenGateOptions.Database"/> are shared, with their caches, by every scheme naming the same file
/// and closed with the application.
/// </summary>
internal sealed class TokenVerifiers(IServiceProvider services, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<ITokenVerifier>> _byScheme = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<(ITokenLookupStore Store, TokenCaches Caches)>> _byDatabase = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<IAsyncDisposable> _ownedStores = [];

    public ITokenVerifier Get(string scheme, TokenGateOptions options) =>
        _byScheme.GetOrAdd(scheme, name => new Lazy<ITokenVerifier>(() => Create(name, options))).Value;

    private ITokenVerifier Create(string scheme, TokenGateOptions options)
    {
        var time = options.TimeProvider ?? TimeProvider.System;
        if (options.Mode == TokenGateMode.Remote)
        {
            var factory = services.GetRequiredService<IHttpClientFactory>();
            return new RemoteTokenVerifier(options, () => factory.CreateClient(TokenGateDefaults.BackchannelHttpClientName), time, loggers.CreateLogger<RemoteTokenVerifier>());
        }

        if (!string.IsNullOrWhiteSpace(options.Database))
        {
            var stores = services.GetService<ILocalTokenStoreFactory>() ?? throw new InvalidOperationException(
                $"TokenGate scheme '{scheme}' names a Database, which needs the TokenGate.AspNetCore.Sqlite package: call AddTokenGateSqlite().");
            var (opened, caches) = _byDatabase.GetOrAdd(Path.GetFullPath(options.Database), file => new(() => Open(stores, file))).Value;
            return new LocalTokenVerifier(Validator(opened, options, time, caches));
        }

        var validator = services.GetService<TokenValidator>()
            ?? services.GetService<TokenService>()?.Validator
            ?? ((services.GetService<ITokenLookupStore>() ?? services.GetService<ITokenGateStore>()) is { } store
                ? Validator(store, options, time, new TokenCaches(new TokenCacheOptions()))
                : throw new InvalidOperationException(
                    $"TokenGate scheme '{scheme}' is in local mode but has no store: set Database to the TokenGate server's SQLite file, " +
                    "register an ITokenLookupStore, or set Mode to Remote with an Authority."));
        return new LocalTokenVerifier(validator);
    }

    /// <summary>A validator with the scheme's retention, and with the server's key when the scheme names it (forged tokens are then
    /// refused without reading the store).</summary>
    private static TokenValidator Validator(ITokenLookupStore store, TokenGateOptions options, TimeProvider time, TokenCaches caches) =>
        new(
            store,
            new TokenPolicyOptions { ExpiredRetention = options.ExpiredRetention },
            time,
            caches,
            TokenGateOptions.LoadKey(options) is { } ring ? new TokenTagger(new LoadedKeyRing(ring)) : null);

    private (ITokenLookupStore, TokenCaches) Open(ILocalTokenStoreFactory stores, string path)
    {
        var store = stores.Open(path);
        if (store is IAsyncDisposable disposable)
        {
            _ownedStores.Add(disposable);
        }

        return (store, new TokenCaches(new TokenCacheOptions()));
    }

    public async ValueTask DisposeAsync()
    {
        while (_ownedStores.TryTake(out var store))
        {
            await store.DisposeAsync();
        }
    }
}
