using System.Security.Cryptography;

namespace TokenGate.Security;

/// <summary>
/// HMAC-SHA256 under keys used on every request (the token tag key, the credential cache's key), without keying a new native
/// context on every call as the one-shot <see cref="HMACSHA256.HashData(byte[], ReadOnlySpan{byte}, Span{byte})"/> does: each
/// thread keeps the instances of the last few keys it used. The tag alone was 7% of the CPU of a validate of a cached token
/// (docs/PERFORMANCE.md). A key is known by its array (a reloaded ring brings new arrays); one no longer used leaves its slot
/// when the slot is taken.
/// </summary>
internal static class KeyedHmacs
{
    private const int Slots = 8;

    [ThreadStatic]
    private static (byte[] Key, IncrementalHash Hmac)[]? t_slots;

    [ThreadStatic]
    private static int t_next;

    /// <summary>Writes HMAC-SHA256(<paramref name="key"/>, <paramref name="data"/>) to <paramref name="mac"/> (32 bytes).</summary>
    public static void Compute(byte[] key, ReadOnlySpan<byte> data, Span<byte> mac)
    {
        var hmac = For(key);
        hmac.AppendData(data);
        hmac.GetHashAndReset(mac);
    }

    private static IncrementalHash For(byte[] key)
    {
        var slots = t_slots ??= new (byte[], IncrementalHash)[Slots];
        foreach (var (slotKey, hmac) in slots)
        {
            if (ReferenceEquals(slotKey, key))
            {
                return hmac;
            }
        }

        var next = t_next;
        t_next = (next + 1) % Slots;
        slots[next].Hmac?.Dispose();
        slots[next] = (key, IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key));
        return slots[next].Hmac;
    }
}
