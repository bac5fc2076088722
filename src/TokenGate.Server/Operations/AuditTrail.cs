using System.Threading.Channels;
using Microsoft.Extensions.Hosting;

namespace TokenGate.Server.Operations;

/// <summary>
/// Records audit entries without making a request wait for them: entries queue in memory (bounded) and are written in batches by
/// <see cref="AuditWriter"/>, through the same group-committing writer as tokens. On a clean shutdown the queue is flushed; a crash
/// can lose the last fraction of a second of entries, never a token. When the queue is full (the database is down for long)
/// new entries are dropped and counted in the log. An issue's own entries (a token added, a refusal for too many) do not come
/// here: the store writes them in the transaction (<see cref="TokenGate.Storage.TokenIssueRequest.Audit"/>).
/// <para>
/// Events a client can repeat at will (a <c>newpass</c> with a guessed token, a refused introspection, a <c>get</c> that hands
/// back an existing token) are <see cref="RecordRepeated">aggregated</see>: one entry per (account, address, action, outcome,
/// token id) and clock minute, written when the minute is over with the count in its outcome (<c>invalid token (x37)</c>), so
/// that a flood of them adds at most one row per address and minute. Past <see cref="RepeatedCapacity"/> distinct keys in a
/// minute (a flood from many addresses) the rest are counted under the address <see cref="ManyClients"/>.
/// </para>
/// </summary>
public sealed class AuditTrail(TimeProvider time)
{
    public const int Capacity = 10_000;

    public const int RepeatedCapacity = 10_000;

    /// <summary>The address of the entry that counts repeated events past <see cref="RepeatedCapacity"/> keys in a minute.</summary>
    public const string ManyClients = "(many addresses)";

    private readonly Lock _repeatedLock = new();
    private Dictionary<RepeatedKey, int> _repeated = [];
    private long _repeatedMinute = -1;

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

    /// <summary>Counts one occurrence of a repeatable event; see the class summary.</summary>
    public void RecordRepeated(string? account, string? client, string action, string outcome, string? tokenId = null)
    {
        var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
        List<AuditEntry>? due = null;
        lock (_repeatedLock)
        {
            if (minute != _repeatedMinute)
            {
                due = TakeRepeated();
                _repeatedMinute = minute;
            }

            var key = new RepeatedKey(account, client, action, outcome, tokenId);
            if (_repeated.Count >= RepeatedCapacity && !_repeated.ContainsKey(key))
            {
                key = new RepeatedKey(null, ManyClients, action, outcome, null);
            }

            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_repeated, key, out _)++;
        }

        Enqueue(due);
    }

    /// <summary>Writes the counts of a minute that is over (or, with <paramref name="all"/>, of the current one too: at shutdown).</summary>
    public void FlushRepeated(bool all)
    {
        var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
        List<AuditEntry>? due = null;
        lock (_repeatedLock)
        {
            if (all || minute != _repeatedMinute)
            {
                due = TakeRepeated();
            }
        }

        Enqueue(due);
    }

    internal void Complete()
    {
        FlushRepeated(all: true);
        _queue.Writer.TryComplete();
    }

    private List<AuditEntry>? TakeRepeated()
    {
        if (_repeated.Count == 0)
        {
            return null;
        }

        var at = time.GetUtcNow().ToUnixTimeSeconds();
        var entries = _repeated
            .Select(pair => new AuditEntry(at, pair.Key.Account, pair.Key.Client, pair.Key.Action, pair.Value == 1 ? pair.Key.Outcome : $"{pair.Key.Outcome} (x{pair.Value})", pair.Key.TokenId))
            .ToList();
        _repeated = [];
        return entries;
    }

    private void Enqueue(List<AuditEntry>? entries)
    {
        foreach (var entry in entries ?? [])
        {
            if (!_queue.Writer.TryWrite(entry))
            {
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    private readonly record struct RepeatedKey(string? Account, string? Client, string Action, string Outcome, string? TokenId);
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
        var flushing = FlushRepeatedAsync(stoppingToken);
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

            await flushing;
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Once a second, writes the aggregated counts of a minute that is over (the clock may be a test's).</summary>
    private async Task FlushRepeatedAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                trail.FlushRepeated(all: false);
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
