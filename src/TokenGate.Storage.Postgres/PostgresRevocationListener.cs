using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace TokenGate.Storage.Postgres;

/// <summary>
/// Tells the revocation epoch of a database that several processes write. Every revoking write moves <c>meta.revocation_epoch</c>
/// and sends <c>NOTIFY tokengate_revocation</c> with the new value in the same transaction; this listener holds one connection
/// that LISTENs, and moves a local epoch whenever it sees the database's value change: in a notification, in this process's own
/// revoking write (at once, so that the process reads its own writes), or in the value read after (re)connecting, which catches
/// whatever happened while it was away. <see cref="Observe"/> is one volatile read; it is null from the moment the connection is
/// lost until the value has been read again, so caches are bypassed exactly while revocations cannot be seen.
/// </summary>
internal sealed partial class PostgresRevocationListener : IAsyncDisposable
{
    public const string Channel = "tokengate_revocation";

    private const long Unknown = long.MinValue;

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresStoreOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _firstConnect = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _published = Unknown;
    private long _epoch;
    private long? _databaseEpoch;
    private bool _connected;
    private Task? _loop;

    public PostgresRevocationListener(NpgsqlDataSource dataSource, PostgresStoreOptions options, ILogger logger)
    {
        _dataSource = dataSource;
        _options = options;
        _logger = logger;
    }

    /// <summary>The local epoch while the listener is connected and up to date; null otherwise. No I/O.</summary>
    public long? Observe()
    {
        var published = Volatile.Read(ref _published);
        return published == Unknown ? null : published;
    }

    /// <summary>Starts listening and waits (at most <paramref name="timeout"/>) until the epoch is known.</summary>
    public async Task StartAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        _loop ??= Task.Run(RunAsync, CancellationToken.None);
        try
        {
            await _firstConnect.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Not connected yet: the epoch stays unknown (caches bypassed) until the loop gets through.
        }
    }

    /// <summary>A database epoch this process has seen committed (its own revoking write): moves the local epoch if it changed.</summary>
    public void Saw(long databaseEpoch)
    {
        lock (_lock)
        {
            Move(databaseEpoch);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stopping.Dispose();
    }

    private async Task RunAsync()
    {
        var delay = _options.ListenerRetryDelay;
        var lost = false;
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(_stopping.Token);
                connection.Notification += OnNotification;
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(_stopping.Token);
                }

                // Read after LISTEN: a revocation committed from here on is notified, and one committed before is in this value.
                long epoch;
                await using (var read = new NpgsqlCommand("SELECT revocation_epoch FROM meta WHERE id = 1", connection))
                {
                    epoch = (long)(await read.ExecuteScalarAsync(_stopping.Token))!;
                }

                Connected(epoch);
                _firstConnect.TrySetResult();
                if (lost)
                {
                    LogReconnected(_logger);
                    lost = false;
                }

                delay = _options.ListenerRetryDelay;
                while (true)
                {
                    await connection.WaitAsync(_stopping.Token);
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                Disconnected();
                if (!lost)
                {
                    LogLost(_logger, PostgresFaults.Reason(exception));
                    lost = true;
                }
            }

            try
            {
                await Task.Delay(delay, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ListenerMaxRetryDelay.Ticks));
        }

        Disconnected();
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs notification)
    {
        lock (_lock)
        {
            if (long.TryParse(notification.Payload, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var databaseEpoch))
            {
                Move(databaseEpoch);
            }
            else
            {
                // Not ours to read (someone sent NOTIFY by hand): assume anything may have changed.
                _databaseEpoch = null;
                _epoch++;
                Publish();
            }
        }
    }

    private void Connected(long databaseEpoch)
    {
        lock (_lock)
        {
            _connected = true;
            Move(databaseEpoch);
            Publish();
        }
    }

    private void Disconnected()
    {
        lock (_lock)
        {
            _connected = false;
            Publish();
        }
    }

    /// <summary>Every distinct database value moves the local epoch; a value seen twice (a write and then its own notification)
    /// moves it once. Moving too often only empties caches; never moving after a revocation would be the fault.</summary>
    private void Move(long databaseEpoch)
    {
        if (_databaseEpoch != databaseEpoch)
        {
            _databaseEpoch = databaseEpoch;
            _epoch++;
        }

        Publish();
    }

    private void Publish() => Volatile.Write(ref _published, _connected ? _epoch : Unknown);

    [LoggerMessage(40, LogLevel.Warning, "The PostgreSQL revocation listener lost its connection ({Reason}); in-memory caches are bypassed until it is back")]
    private static partial void LogLost(ILogger logger, string reason);

    [LoggerMessage(41, LogLevel.Information, "The PostgreSQL revocation listener is connected again; in-memory caches are in use")]
    private static partial void LogReconnected(ILogger logger);
}
