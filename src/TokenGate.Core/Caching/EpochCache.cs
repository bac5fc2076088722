using System.Collections.Concurrent;

namespace TokenGate.Caching;

/// <summary>
/// A bounded concurrent map whose entries are valid only under the revocation epoch they were stored with. When the epoch moves,
/// every older entry is a miss, and the map is emptied on the first store under the new epoch. When full it starts over: simple,
/// O(1), and the worst case is a burst of store reads.
/// </summary>
internal sealed class EpochCache<TKey, TValue>(int capacity, IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new(comparer);
    private long _epoch = long.MinValue;

    public int Count => _entries.Count;

    public bool TryGet(TKey key, long epoch, out TValue value)
    {
        if (_entries.TryGetValue(key, out var entry) && entry.Epoch == epoch)
        {
            value = entry.Value;
            return true;
        }

        value = default!;
        return false;
    }

    public void Set(TKey key, long epoch, TValue value)
    {
        var current = Volatile.Read(ref _epoch);
        if (epoch < current)
        {
            return;
        }

        if (epoch > current && Interlocked.CompareExchange(ref _epoch, epoch, current) == current)
        {
            _entries.Clear();
        }

        if (_entries.Count >= capacity)
        {
            _entries.Clear();
        }

        _entries[key] = new Entry(epoch, value);
    }

    public void Remove(TKey key) => _entries.TryRemove(key, out _);

    public void Clear() => _entries.Clear();

    private readonly record struct Entry(long Epoch, TValue Value);
}
