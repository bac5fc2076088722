using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TokenGate.Storage;

namespace TokenGate.Server.Hosting;

/// <summary>
/// Deletes tokens past the retention window every <see cref="TokenGateSettings.SweepInterval"/>, in batches of
/// <see cref="TokenGateSettings.SweepBatchSize"/> with a pause between them, so that it never holds the database for long.
/// </summary>
public sealed class ExpiredTokenSweeper(
    AccountService accounts,
    ITokenGateStore store,
    TokenGateSettings settings,
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
                var purged = await accounts.PurgeExpiredTokensAsync(includeRetained: false, settings.SweepBatchSize, PauseBetweenBatches, stoppingToken);
                if (purged > 0)
                {
                    Log.Purged(logger, purged);
                }

                metrics.ActiveTokens((await accounts.ListAsync(stoppingToken)).Sum(account => (long)account.ActiveTokens));
                var auditPurged = await PurgeAuditAsync(stoppingToken);
                if (auditPurged > 0)
                {
                    Log.AuditPurged(logger, auditPurged);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (StorageUnavailableException exception)
            {
                Log.SweepFailed(logger, settings.SweepInterval, exception);
            }

            try
            {
                await Task.Delay(settings.SweepInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<int> PurgeAuditAsync(CancellationToken stoppingToken)
    {
        var before = time.GetUtcNow().ToUnixTimeSeconds() - (long)settings.AuditRetention.TotalSeconds;
        var total = 0;
        int deleted;
        do
        {
            deleted = await store.PurgeAuditAsync(before, settings.SweepBatchSize, stoppingToken);
            total += deleted;
            await Task.Delay(PauseBetweenBatches, stoppingToken);
        }
        while (deleted == settings.SweepBatchSize);

        return total;
    }
}
