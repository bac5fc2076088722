using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TokenGate.Storage;

namespace TokenGate.Server.Hosting;

/// <summary>
/// Deletes tokens past the retention window every <see cref="TokenGateSettings.SweepInterval"/>, in batches of
/// <see cref="TokenGateSettings.SweepBatchSize"/> with a pause between them, so that it never holds the database for long.
/// </summary>
public sealed class ExpiredTokenSweeper(AccountService accounts, TokenGateSettings settings, TimeProvider time, ILogger<ExpiredTokenSweeper> logger)
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
}
