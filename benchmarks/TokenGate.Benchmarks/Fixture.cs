using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using System.Diagnostics.Metrics;
using TokenGate.Accounts;
using TokenGate.Caching;
using TokenGate.Security;
using TokenGate.Server.Api;
using TokenGate.Server.Hosting;
using TokenGate.Server.Security;
using TokenGate.Storage.Sqlite;
using TokenGate.Tokens;
using TokenGate.Server.Operations;

namespace TokenGate.Benchmarks;

/// <summary>
/// A real SQLite store in a temporary directory with one account and <see cref="TokenCount"/> tokens issued through
/// <see cref="TokenService"/>, and services over it with the caches on (as served) or off (every request reads the store).
/// </summary>
public sealed class Fixture : IAsyncDisposable
{
    public const string Username = "bench";
    public const string Password = "bench-password-1";
    public const int TokenCount = 64;

    private readonly string _directory;
    private readonly ServiceProvider _metricsServices;

    private Fixture(string directory, SqliteTokenGateStore store, AesGcmTokenSealer sealer, ServiceProvider metricsServices)
    {
        _directory = directory;
        Store = store;
        Sealer = sealer;
        _metricsServices = metricsServices;
        Cached = CreateService(new TokenCacheOptions());
        Uncached = CreateService(new TokenCacheOptions { Enabled = false });
        var settings = new TokenGateSettings();
        var metrics = new TokenGateMetrics(metricsServices.GetRequiredService<IMeterFactory>());
        var audit = new AuditTrail(TimeProvider.System);
        var gate = new LoginGate(Cached, new LoginThrottle(store, store, settings.LoginThrottle, TimeProvider.System), new PasswordHashingQueue(settings.Passwords), metrics, audit, TimeProvider.System, NullLogger<LoginGate>.Instance);
        Endpoint = new TokenEndpoint(
            Cached,
            Cached.Validator,
            gate,
            new TokenIssuance(Cached, gate, metrics, audit, NullLogger<TokenIssuance>.Instance),
            settings,
            metrics,
            audit,
            NullLogger<TokenEndpoint>.Instance);
    }

    public SqliteTokenGateStore Store { get; }

    public AesGcmTokenSealer Sealer { get; }

    /// <summary>Caches on, as <c>tokengate serve</c> runs.</summary>
    public TokenService Cached { get; }

    /// <summary>Caches off: every validate reads SQLite.</summary>
    public TokenService Uncached { get; }

    /// <summary>The token.php endpoint over <see cref="Cached"/>, without Kestrel.</summary>
    public TokenEndpoint Endpoint { get; }

    /// <summary>Tokens bound to 127.0.0.1; the first one is also the account's current token for that address.</summary>
    public IReadOnlyList<string> Tokens { get; private set; } = [];

    public static IPAddress Caller => IPAddress.Loopback;

    public static async Task<Fixture> CreateAsync()
    {
        var directory = Directory.CreateTempSubdirectory("tokengate-bench-").FullName;
        var store = new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = Path.Combine(directory, "tokengate.db") });
        await store.InitializeAsync(CancellationToken.None);
        var sealer = new AesGcmTokenSealer(SealingKey.Generate());
        var fixture = new Fixture(directory, store, sealer, new ServiceCollection().AddMetrics().BuildServiceProvider());

        var accounts = new AccountService(store, Hasher, PasswordPolicy.Default, new TokenPolicyOptions(), TimeProvider.System);
        await accounts.CreateAsync(Username, Password, CancellationToken.None);

        var tokens = new List<string>();
        var first = await fixture.Uncached.GetTokenAsync(Username, Password, AddressSet.Single(Caller), CancellationToken.None);
        tokens.Add(first.Token!);
        for (var i = 1; i < TokenCount; i++)
        {
            // Each token bound to 127.0.0.1 and one other address, so that every one is new and validates from loopback.
            AddressSet.TryParse($"127.0.0.1, 192.0.2.{i}", out var addresses);
            var issued = await fixture.Uncached.GetTokenAsync(Username, Password, addresses!, CancellationToken.None);
            tokens.Add(issued.Token!);
        }

        fixture.Tokens = tokens;
        return fixture;
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Sealer.Dispose();
        await _metricsServices.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    // The production iteration count: only the first verification of a credential pays it, the caches keep it after.
    private static readonly IdentityPasswordHasher Hasher = new();

    // Tags need only a key of their own here: the sealer's key never has to match them.
    private readonly TokenTagger _tagger = new(SealingKey.Generate());

    private TokenService CreateService(TokenCacheOptions cacheOptions) =>
        new(Store, Hasher, Sealer, _tagger, new TokenPolicyOptions(), PasswordPolicy.Default, TimeProvider.System, new TokenCaches(cacheOptions));
}
