using Microsoft.Extensions.Logging;

namespace TokenGate.Storage.Postgres;

public sealed class PostgresStoreOptions
{
    /// <summary>A <c>postgres://</c> URI or an Npgsql connection string (see <see cref="PostgresConnectionString"/>).</summary>
    public required string ConnectionString { get; init; }

    /// <summary>Where the store logs its listener's state. Never given a connection string or a password.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The first pause before the revocation listener connects again; it doubles up to <see cref="ListenerMaxRetryDelay"/>.</summary>
    public TimeSpan ListenerRetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan ListenerMaxRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long <see cref="ITokenGateStore.InitializeAsync"/> waits for the listener before going on without caches.</summary>
    public TimeSpan ListenerStartTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Seconds of silence after which the listener's connection is probed, so that a dead link is noticed.</summary>
    public int ListenerKeepAlive { get; init; } = 5;
}
