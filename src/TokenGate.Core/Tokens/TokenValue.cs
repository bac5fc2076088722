using System.Buffers;
using System.Security.Cryptography;

namespace TokenGate.Tokens;

/// <summary>
/// Token values: 40 lower-case hexadecimal characters (20 bytes). A token issued today is a key id, 120 random bits and a tag
/// that lets a server refuse a forged one without a lookup (<see cref="Security.TokenTagger"/>); one issued before tags existed
/// is 160 random bits. A token is never stored; the store keys it by the SHA-256 digest of its characters, and its non-secret
/// id is the first 8 bytes of that digest.
/// </summary>
public static class TokenValue
{
    public const int Length = 40;
    public const int DigestLength = SHA256.HashSizeInBytes;
    public const int IdBytes = 8;

    /// <summary>The number of bytes a token's 40 hex characters carry (key id, random bits and tag for a tagged token).</summary>
    public const int RandomBytes = 20;

    // The characters of a token (a vectorized search: every token presented is checked, forged ones included).
    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    /// <summary>A new tagged token under <paramref name="tagger"/>'s key.</summary>
    public static string Generate(Security.TokenTagger tagger) => tagger.Generate();

    /// <summary>Whether <paramref name="token"/> is 40 lower-case hexadecimal characters (tagged or not, live or not).</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> token) => token.Length == Length && !token.ContainsAnyExcept(LowerHex);

    /// <summary>Writes the SHA-256 digest of a well-formed token into <paramref name="digest"/> (32 bytes).</summary>
    public static void ComputeDigest(ReadOnlySpan<char> token, Span<byte> digest)
    {
        if (!IsWellFormed(token))
        {
            throw new ArgumentException("Not a well-formed token.", nameof(token));
        }

        Span<byte> ascii = stackalloc byte[Length];
        for (var i = 0; i < Length; i++)
        {
            ascii[i] = (byte)token[i];
        }

        SHA256.HashData(ascii, digest);
    }

    public static byte[] ComputeDigest(ReadOnlySpan<char> token)
    {
        var digest = new byte[DigestLength];
        ComputeDigest(token, digest);
        return digest;
    }

    /// <summary>The token's non-secret id: the hex of its digest's first 8 bytes. Safe to log, list and show.</summary>
    public static string IdOf(ReadOnlySpan<byte> digest) => Convert.ToHexStringLower(digest[..IdBytes]);

    /// <summary>
    /// The digests a token id (as <see cref="IdOf"/> writes it, either case) stands for: every digest from <c>Low</c> to <c>High</c>
    /// inclusive, in the byte order both stores compare keys in. False when <paramref name="id"/> is not 16 hexadecimal characters.
    /// </summary>
    public static bool TryGetDigestRange(string id, out byte[] low, out byte[] high)
    {
        low = high = [];
        if (id.Length != IdBytes * 2 || !id.All(char.IsAsciiHexDigit))
        {
            return false;
        }

        var prefix = Convert.FromHexString(id);
        low = new byte[DigestLength];
        high = new byte[DigestLength];
        prefix.CopyTo(low, 0);
        prefix.CopyTo(high, 0);
        high.AsSpan(IdBytes).Fill(0xFF);
        return true;
    }
}
