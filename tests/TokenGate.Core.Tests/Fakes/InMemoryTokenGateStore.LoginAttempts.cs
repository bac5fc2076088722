using TokenGate.Storage;

namespace TokenGate.Core.Tests.Fakes;

/// <summary>Login-attempt counters and familiar addresses in two dictionaries, under the store's one lock.</summary>
public sealed partial class InMemoryTokenGateStore
{
    private readonly Dictionary<(AttemptScope, string, string), (int Count, long LastAt)> _attempts = [];
    private readonly Dictionary<(string, string), long> _familiar = [];

    public ValueTask<AttemptReservation> ReserveAttemptAsync(IReadOnlyList<AttemptCounter> counters, long now, long windowSeconds, CancellationToken cancellationToken)
    {
        LoginAttempts.Validate(counters);
        lock (_lock)
        {
            var stored = counters.Select(c => _attempts.TryGetValue(Key(c), out var row) ? row : ((int, long)?)null).ToList();
            var reservation = LoginAttempts.Decide(counters, stored, now, windowSeconds, out var countsAfter);
            if (reservation.Allowed)
            {
                for (var i = 0; i < counters.Count; i++)
                {
                    _attempts[Key(counters[i])] = (countsAfter[i], now);
                }

                if (reservation.BlocksStarted.Count > 0)
                {
                    MoveEpoch();
                }
            }

            return ValueTask.FromResult(reservation);
        }
    }

    public ValueTask ReleaseAttemptAsync(IReadOnlyList<AttemptCounter> counters, bool forgetPairs, string? familiarUsername, string? familiarClient, long now, CancellationToken cancellationToken)
    {
        LoginAttempts.Validate(counters);
        lock (_lock)
        {
            foreach (var counter in counters)
            {
                if (counter.Scope == AttemptScope.Pair && forgetPairs)
                {
                    _attempts.Remove(Key(counter));
                }
                else if (_attempts.TryGetValue(Key(counter), out var row) && row.Count > 0)
                {
                    _attempts[Key(counter)] = (row.Count - 1, row.LastAt);
                }
            }

            if (familiarUsername is not null && familiarClient is not null
                && !(_familiar.TryGetValue((familiarUsername, familiarClient), out var last) && last >= now - LoginAttempts.FamiliarRefreshSeconds))
            {
                _familiar[(familiarUsername, familiarClient)] = now;
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> IsFamiliarAsync(string username, string client, long since, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_familiar.TryGetValue((username, client), out var last) && last >= since);
        }
    }

    public ValueTask<IReadOnlyList<AttemptCounterState>> ListAttemptCountersAsync(long now, long windowSeconds, int limit, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<AttemptCounterState> counters =
            [
                .. _attempts
                    .Where(a => a.Value.LastAt > now - windowSeconds && a.Value.Count > 0)
                    .Select(a => new AttemptCounterState(a.Key.Item1, a.Key.Item2, a.Key.Item3, a.Value.Count, a.Value.LastAt))
                    .OrderByDescending(c => c.Count).ThenByDescending(c => c.LastAt).ThenBy(c => c.Scope)
                    .ThenBy(c => c.Username, StringComparer.Ordinal).ThenBy(c => c.Client, StringComparer.Ordinal)
                    .Take(limit),
            ];
            return ValueTask.FromResult(counters);
        }
    }

    public ValueTask<int> ClearAttemptCountersAsync(string? username, string? client, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var cleared = _attempts.Keys
                .Where(k => (k.Item1 != AttemptScope.Client && username is not null && k.Item2 == username)
                    || (k.Item1 != AttemptScope.Account && client is not null && k.Item3 == client))
                .ToList();
            cleared.ForEach(k => _attempts.Remove(k));
            return ValueTask.FromResult(cleared.Count);
        }
    }

    public ValueTask<int> PurgeLoginStateAsync(long countersBefore, long familiarBefore, int batchSize, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var counters = _attempts.Where(a => a.Value.LastAt < countersBefore).Select(a => a.Key).Take(batchSize).ToList();
            var familiar = _familiar.Where(f => f.Value < familiarBefore).Select(f => f.Key).Take(batchSize).ToList();
            counters.ForEach(k => _attempts.Remove(k));
            familiar.ForEach(k => _familiar.Remove(k));
            return ValueTask.FromResult(counters.Count + familiar.Count);
        }
    }

    private static (AttemptScope, string, string) Key(AttemptCounter counter) => (counter.Scope, counter.Username, counter.Client);
}
