using Microsoft.Extensions.Hosting;

namespace TokenGate.Server.Maintenance;

/// <summary>
/// Deletes tokens past the retention window, and audit entries past the audit retention, every
/// <see cref="SweeperOptions.Interval"/>, in batches of <see cref="SweeperOptions.BatchSize"/> with a pause
/// between them, so that it never holds the database for long. When the store is shared by several instances
/// (<see cref="IMaintenanceLock"/>), a round runs only in the instance that holds the maintenance lock; the others skip it.
/// </summary>
public sealed class ExpiredTokenSweeper(
    AccountService accounts,
    ITokenGateStore store,
    SweeperOptions options,
    Security.LoginThrottleOptions throttle,
    TokenGateMetrics metrics,
    TimeProvider time,
    ILogger<ExpiredTokenSweeper> logger)
    : BackgroundService
{
    private static readonly TimeSpan PauseBetweenBatches = TimeSpan.FromMilliseconds(20);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);

                // Every instance reports the gauge, whichever one swept.
                var listed = await accounts.ListAsync(stoppingToken);
                metrics.ActiveTokens(listed.Sum(account => (long)account.ActiveTokens));
                metrics.Accounts(listed.Count);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (StorageUnavailableException exception)
            {
                Log.SweepFailed(logger, options.Interval, exception);
            }

            try
            {
                await Task.Delay(options.Interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        await using var held = store is IMaintenanceLock shared ? await shared.TryAcquireMaintenanceLockAsync(stoppingToken) : null;
        if (store is IMaintenanceLock && held is null)
        {
            Log.SweepSkipped(logger);
            return;
        }

        Log.SweepStarted(logger);
        var purged = await accounts.PurgeExpiredTokensAsync(includeRetained: false, options.BatchSize, PauseBetweenBatches, stoppingToken);
        if (purged > 0)
        {
            Log.Purged(logger, purged);
        }

        var auditPurged = await PurgeAuditAsync(stoppingToken);
        if (auditPurged > 0)
        {
            Log.AuditPurged(logger, auditPurged);
        }

        // Login counters past their window count as nothing, and familiar clients expire: both go, so that the tables stay
        // bounded by the attempts of one window (each of which paid a password check or was refused).
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var loginPurged = await PurgeInBatchesAsync(
            batch => store.PurgeLoginStateAsync(now - (long)throttle.Window.TotalSeconds, now - (long)throttle.FamiliarFor.TotalSeconds, batch, stoppingToken),
            stopWhenBelowBatch: false,
            stoppingToken);
        Log.SweepFinished(logger, purged, auditPurged, loginPurged);
    }

    private Task<int> PurgeAuditAsync(CancellationToken stoppingToken)
    {
        var before = time.GetUtcNow().ToUnixTimeSeconds() - (long)options.AuditRetention.TotalSeconds;
        return PurgeInBatchesAsync(batch => store.PurgeAuditAsync(before, batch, stoppingToken), stopWhenBelowBatch: true, stoppingToken);
    }

    /// <summary>Calls <paramref name="purge"/> with the batch size, pausing between calls, until it deletes less than a batch (or nothing).</summary>
    private async Task<int> PurgeInBatchesAsync(Func<int, ValueTask<int>> purge, bool stopWhenBelowBatch, CancellationToken stoppingToken)
    {
        var total = 0;
        int deleted;
        do
        {
            deleted = await purge(options.BatchSize);
            total += deleted;
            await Task.Delay(PauseBetweenBatches, stoppingToken);
        }
        while (stopWhenBelowBatch ? deleted == options.BatchSize : deleted > 0);

        return total;
    }
}
