using System.Threading.Channels;
using Microsoft.Extensions.Hosting;

namespace TokenGate.Server.Operations;

/// <summary>
/// Records audit entries without making a request wait for them: entries queue in memory (bounded) and are written in batches by
/// <see cref="AuditWriter"/>, through the same group-committing writer as tokens. On a clean shutdown the queue is flushed; a crash
/// can lose the last fraction of a second of entries, never a token. When the queue is full (the database is down for long)
/// new entries are dropped and counted in the log.
/// </summary>
public sealed class AuditTrail(TimeProvider time)
{
    public const int Capacity = 10_000;

    private readonly Channel<AuditEntry> _queue = Channel.CreateBounded<AuditEntry>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    private long _dropped;

    internal ChannelReader<AuditEntry> Reader => _queue.Reader;

    public long Dropped => Interlocked.Read(ref _dropped);

    public void Record(string? account, string? client, string action, string outcome, string? tokenId = null)
    {
        if (!_queue.Writer.TryWrite(new AuditEntry(time.GetUtcNow().ToUnixTimeSeconds(), account, client, action, outcome, tokenId)))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    internal void Complete() => _queue.Writer.TryComplete();
}

/// <summary>Drains the <see cref="AuditTrail"/> into the store in batches.</summary>
public sealed class AuditWriter(AuditTrail trail, ITokenGateStore store, ILogger<AuditWriter> logger) : BackgroundService
{
    private const int BatchSize = 500;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        trail.Complete();
        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AuditEntry>(BatchSize);
        var reader = trail.Reader;
        try
        {
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                while (batch.Count < BatchSize && reader.TryRead(out var entry))
                {
                    batch.Add(entry);
                }

                await WriteAsync(batch, stoppingToken);
                batch.Clear();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task WriteAsync(List<AuditEntry> batch, CancellationToken stoppingToken)
    {
        // Keep trying while the store is down, unless the server is stopping.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await store.AppendAuditAsync(batch, CancellationToken.None);
                return;
            }
            catch (StorageUnavailableException exception) when (!stoppingToken.IsCancellationRequested)
            {
                if (attempt == 0)
                {
                    Log.AuditDelayed(logger, batch.Count, exception.Message);
                }

                await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, 1 + attempt)), CancellationToken.None);
            }
            catch (StorageUnavailableException exception)
            {
                Log.AuditLost(logger, batch.Count, exception.Message);
                return;
            }
        }
    }
}
