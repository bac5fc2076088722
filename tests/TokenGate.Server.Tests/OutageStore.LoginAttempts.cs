using TokenGate.Storage;

namespace TokenGate.Server.Tests;

/// <summary>The login-attempt counters fail with the rest of the store, so that the gate's fail-closed path can be tested.</summary>
internal sealed partial class OutageStore
{
    public ValueTask<AttemptReservation> ReserveAttemptAsync(IReadOnlyList<AttemptCounter> counters, long now, long windowSeconds, CancellationToken cancellationToken) =>
        Guard(() => inner.ReserveAttemptAsync(counters, now, windowSeconds, cancellationToken));

    public ValueTask ReleaseAttemptAsync(IReadOnlyList<AttemptCounter> counters, bool forgetPairs, string? familiarUsername, string? familiarClient, long now, CancellationToken cancellationToken) =>
        Guard(() => inner.ReleaseAttemptAsync(counters, forgetPairs, familiarUsername, familiarClient, now, cancellationToken));

    public ValueTask<bool> IsFamiliarAsync(string username, string client, long since, CancellationToken cancellationToken) =>
        Guard(() => inner.IsFamiliarAsync(username, client, since, cancellationToken));

    public ValueTask<IReadOnlyList<AttemptCounterState>> ListAttemptCountersAsync(long now, long windowSeconds, int limit, CancellationToken cancellationToken) =>
        Guard(() => inner.ListAttemptCountersAsync(now, windowSeconds, limit, cancellationToken));

    public ValueTask<int> ClearAttemptCountersAsync(string? username, string? client, CancellationToken cancellationToken) =>
        Guard(() => inner.ClearAttemptCountersAsync(username, client, cancellationToken));

    public ValueTask<int> PurgeLoginStateAsync(long countersBefore, long familiarBefore, int batchSize, CancellationToken cancellationToken) =>
        Guard(() => inner.PurgeLoginStateAsync(countersBefore, familiarBefore, batchSize, cancellationToken));
}
