using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGate.Storage;
using TokenGate.Storage.Sqlite;

namespace TokenGate.AspNetCore.Validation;

/// <summary>
/// One verifier per scheme, made on the scheme's first request from its options and kept for the application's life (with its
/// caches). Stores opened here from <see cref="TokenGateOptions.Database"/> are shared by every scheme naming the same file and
/// closed with the application.
/// </summary>
internal sealed class TokenVerifiers(IServiceProvider services, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<ITokenVerifier>> _byScheme = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<TokenService>> _byDatabase = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<ITokenGateStore> _ownedStores = [];

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
            var path = Path.GetFullPath(options.Database);
            return new LocalTokenVerifier(_byDatabase.GetOrAdd(path, file => new Lazy<TokenService>(() => OpenStore(file, time))).Value);
        }

        var tokens = services.GetService<TokenService>()
            ?? (services.GetService<ITokenGateStore>() is { } store
                ? ValidationOnly.CreateTokenService(store, time)
                : throw new InvalidOperationException(
                    $"TokenGate scheme '{scheme}' is in local mode but has no store: set Database to the TokenGate server's SQLite file, " +
                    "register an ITokenGateStore, or set Mode to Remote with an Authority."));
        return new LocalTokenVerifier(tokens);
    }

    private TokenService OpenStore(string path, TimeProvider time)
    {
        // Read-only use: never initialized, so the schema is neither created nor migrated and no writer is started.
        var store = new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = path });
        _ownedStores.Add(store);
        return ValidationOnly.CreateTokenService(store, time);
    }

    public async ValueTask DisposeAsync()
    {
        while (_ownedStores.TryTake(out var store))
        {
            await store.DisposeAsync();
        }
    }
}
