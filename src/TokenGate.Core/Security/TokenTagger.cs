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
/// <see cref="CurrentKeyId"/> today; a key ring (issue 18) gives each of its keys an id so that tokens tagged under an older key
/// keep verifying. The comparison of key id and tag is one constant-time comparison of 5 bytes.
/// </summary>
public sealed class TokenTagger
{
    /// <summary>The HKDF info of the tag key: a key derived for one purpose is never used for another.</summary>
    public const string DerivationLabel = "TokenGate token tag v1";

    /// <summary>The key id of tokens tagged under the one sealing key a server holds (0 is never used, so that a ring can reserve it).</summary>
    public const byte CurrentKeyId = 1;

    public const int KeyIdBytes = 1;
    public const int RandomBytes = 15;
    public const int TagBytes = 4;
    private const int TaggedBytes = KeyIdBytes + RandomBytes;

    private readonly byte[] _tagKey;
    private readonly byte _keyId;

    public TokenTagger(SealingKey key)
    {
        _tagKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Bytes, SealingKey.Length, salt: [], info: Encoding.ASCII.GetBytes(DerivationLabel));
        _keyId = CurrentKeyId;
    }

    /// <summary>A new token: the key id, 120 fresh random bits and their tag, as 40 lower-case hex characters.</summary>
    public string Generate()
    {
        Span<byte> token = stackalloc byte[TokenValue.RandomBytes];
        token[0] = _keyId;
        SecureRandom.Fill(token.Slice(KeyIdBytes, RandomBytes));
        ComputeTag(token[..TaggedBytes], token[TaggedBytes..]);
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

        Span<byte> expected = stackalloc byte[KeyIdBytes + TagBytes];
        expected[0] = _keyId;
        ComputeTag(bytes[..TaggedBytes], expected[KeyIdBytes..]);
        Span<byte> presented = stackalloc byte[KeyIdBytes + TagBytes];
        presented[0] = bytes[0];
        bytes[TaggedBytes..].CopyTo(presented[KeyIdBytes..]);
        var verified = CryptographicOperations.FixedTimeEquals(expected, presented);
        CryptographicOperations.ZeroMemory(bytes);
        return verified;
    }

    private void ComputeTag(ReadOnlySpan<byte> tagged, Span<byte> tag)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_tagKey, tagged, mac);
        mac[..TagBytes].CopyTo(tag);
    }
}
