using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using TokenGate.Tokens;

namespace TokenGate.AspNetCore.Validation;

/// <summary>What the introspection endpoint said of a token. Times are Unix seconds.</summary>
internal sealed record Introspection(bool Active, string? Username = null, long IssuedAt = 0, long ExpiresAt = 0, AddressSet? Addresses = null)
{
    public static readonly Introspection Inactive = new(false);
}

/// <summary>A token's SHA-256 digest as a dictionary key: the cache never holds a token value.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct TokenKey(ulong A, ulong B, ulong C, ulong D)
{
    public static TokenKey From(ReadOnlySpan<byte> digest) => MemoryMarshal.Read<TokenKey>(digest);

    /// <summary>The token's non-secret id (the digest's first 8 bytes in hex).</summary>
    public string Id => TokenValue.IdOf(MemoryMarshal.AsBytes(new ReadOnlySpan<TokenKey>(in this)));
}

/// <summary>
/// Introspection answers by token digest, each usable until its own deadline (<see cref="Entry.FreshUntil"/>, Unix milliseconds),
/// at most <c>capacity</c> of them. When full, stale entries are swept; if it is still full it starts over: bounded, O(1) on the
/// hot path, and the worst case is a burst of introspection calls.
/// </summary>
internal sealed class IntrospectionCache(int capacity)
{
    private readonly ConcurrentDictionary<TokenKey, Entry> _entries = new();
    private readonly Lock _sweepLock = new();
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public bool TryGet(in TokenKey key, out Entry entry) => _entries.TryGetValue(key, out entry);

    public void Set(in TokenKey key, Entry entry, long nowMilliseconds)
    {
        if (Volatile.Read(ref _count) >= capacity && !_entries.ContainsKey(key))
        {
            MakeRoom(nowMilliseconds);
        }

        var added = true;
        _entries.AddOrUpdate(key, entry, (_, _) =>
        {
            added = false;
            return entry;
        });
        if (added)
        {
            Interlocked.Increment(ref _count);
        }
    }

    private void MakeRoom(long nowMilliseconds)
    {
        lock (_sweepLock)
        {
            if (Volatile.Read(ref _count) < capacity)
            {
                return;
            }

            foreach (var (key, entry) in _entries)
            {
                if (entry.FreshUntil <= nowMilliseconds && _entries.TryRemove(new KeyValuePair<TokenKey, Entry>(key, entry)))
                {
                    Interlocked.Decrement(ref _count);
                }
            }

            if (Volatile.Read(ref _count) >= capacity)
            {
                _entries.Clear();
            }

            // Recount exactly (Count takes every lock) so that races with concurrent sets cannot let the estimate drift.
            Volatile.Write(ref _count, _entries.Count);
        }
    }

    /// <summary>An answer and the moment (Unix milliseconds) until which it may be reused.</summary>
    internal readonly record struct Entry(Introspection Answer, long FreshUntil);
}
