using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace TokenGate.Caching;

/// <summary>
/// Equality for dictionary keys that are secrets (token values). The default string comparer of a dictionary starts with a
/// non-randomized hash, which an outsider can compute, and compares candidates with an ordinal comparison that stops at the first
/// differing character: together they would let timing tell how much of a guess matches a stored token in the same bucket. Here
/// the hash is the process-randomized <see cref="string.GetHashCode()"/> and equality is
/// <see cref="CryptographicOperations.FixedTimeEquals"/> over the characters.
/// </summary>
internal sealed class SecretKeyComparer : IEqualityComparer<string>
{
    public static readonly SecretKeyComparer Instance = new();

    public bool Equals(string? x, string? y) =>
        x is not null && y is not null && x.Length == y.Length
        && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(x.AsSpan()), MemoryMarshal.AsBytes(y.AsSpan()));

    public int GetHashCode(string value) => value.GetHashCode();
}
