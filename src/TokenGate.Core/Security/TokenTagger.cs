using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using TokenGate.Tokens;

namespace TokenGate.Security;

/// <summary>
/// Makes tokens self-authenticating without changing their wire form (40 lower-case hex characters, 20 bytes):
/// <c>key id (1 byte) | random (15 bytes, 120 bits) | tag (4 bytes)</c>, where the tag is the first 4 bytes of
/// HMAC-SHA256 over the first 16 bytes, under a key derived with HKDF-SHA256 from the sealing key (info
/// <see cref="DerivationLabel"/>). A token whose key id or tag does not match is refused without any cache or store lookup: a
/// guess passes with odds 2^-32, and still has to name one of 2^120 random values to reach a token. The key id is
/// the id of a key of the ring (<see cref="SealingKeyRing"/>): new tokens name the active key, and tokens tagged under any key
/// the ring holds (active or accepted) keep verifying. The comparison of key id and tag is one constant-time comparison of 5 bytes.
/// </summary>
public sealed class TokenTagger
{
    /// <summary>The HKDF info of the tag key: a key derived for one purpose is never used for another.</summary>
    public const string DerivationLabel = "TokenGate token tag v1";

    /// <summary>The key id of a ring of one key (a key file from before the ring); 0 is never a key's id.</summary>
    public const byte CurrentKeyId = 1;

    public const int KeyIdBytes = 1;
    public const int RandomBytes = 15;
    public const int TagBytes = 4;
    private const int TaggedBytes = KeyIdBytes + RandomBytes;

    // Tags a token whose key id names no key of the ring, so that such a token costs what any other does.
    private static readonly byte[] UnknownKeyTagKey = RandomNumberGenerator.GetBytes(SealingKey.Length);

    private readonly LoadedKeyRing _ring;

    /// <summary>A tagger of one key, id <see cref="CurrentKeyId"/> (a ring of one).</summary>
    public TokenTagger(SealingKey key)
        : this(new LoadedKeyRing(SealingKeyRing.OfOne(key)))
    {
    }

    /// <summary>A tagger that follows <paramref name="ring"/>: new tokens under its active key, any key of it verifies.</summary>
    public TokenTagger(LoadedKeyRing ring) => _ring = ring;

    /// <summary>A new token: the key id, 120 fresh random bits and their tag, as 40 lower-case hex characters.</summary>
    public string Generate()
    {
        Span<byte> token = stackalloc byte[TokenValue.RandomBytes];
        var active = _ring.Current.Active;
        token[0] = active.Id;
        SecureRandom.Fill(token.Slice(KeyIdBytes, RandomBytes));
        ComputeTag(active.TagKey, token[..TaggedBytes], token[TaggedBytes..]);
        var text = Convert.ToHexStringLower(token);
        CryptographicOperations.ZeroMemory(token);
        return text;
    }

    /// <summary>
    /// True when <paramref name="token"/> is well formed, names this tagger's key and carries the tag of its other bytes. Every
    /// well-formed token costs one HMAC and one constant-time comparison, whichever byte is wrong.
    /// </summary>
    public bool Verify(ReadOnlySpan<char> token)
    {
        Span<byte> bytes = stackalloc byte[TokenValue.RandomBytes];
        if (!TokenValue.IsWellFormed(token) || Convert.FromHexString(token, bytes, out _, out _) != OperationStatus.Done)
        {
            return false;
        }

        // The token's key id picks the key; an id the ring does not hold gets a tag under a key no token was made with, and an
        // expected id of 0 (never a key's), so that it fails in the same comparison as a wrong tag.
        var key = _ring.Current.ById(bytes[0]);
        Span<byte> expected = stackalloc byte[KeyIdBytes + TagBytes];
        expected[0] = key?.Id ?? 0;
        ComputeTag(key?.TagKey ?? UnknownKeyTagKey, bytes[..TaggedBytes], expected[KeyIdBytes..]);
        Span<byte> presented = stackalloc byte[KeyIdBytes + TagBytes];
        presented[0] = bytes[0];
        bytes[TaggedBytes..].CopyTo(presented[KeyIdBytes..]);
        var verified = CryptographicOperations.FixedTimeEquals(expected, presented);
        CryptographicOperations.ZeroMemory(bytes);
        return verified;
    }

    /// <summary>Whether the ring still holds the key <paramref name="token"/> names (its tag is not checked).</summary>
    public bool HoldsKeyOf(ReadOnlySpan<char> token) => KeyIdOf(token) is { } id && _ring.Current.ById(id) is not null;

    /// <summary>The key id of <paramref name="token"/> (its first byte), or null when it is not well formed.</summary>
    public static byte? KeyIdOf(ReadOnlySpan<char> token)
    {
        Span<byte> first = stackalloc byte[1];
        return TokenValue.IsWellFormed(token) && Convert.FromHexString(token[..2], first, out _, out _) == OperationStatus.Done ? first[0] : null;
    }

    private static void ComputeTag(byte[] tagKey, ReadOnlySpan<byte> tagged, Span<byte> tag)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        KeyedHmacs.Compute(tagKey, tagged, mac);
        mac[..TagBytes].CopyTo(tag);
    }
}
