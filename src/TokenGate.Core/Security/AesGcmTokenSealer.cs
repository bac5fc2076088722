using System.Security.Cryptography;
using TokenGate.Tokens;

namespace TokenGate.Security;

/// <summary>
/// AES-256-GCM sealing. Layout: version (1 byte) | key id (4 bytes: the sealing key's fingerprint) | nonce (12) | ciphertext (20) | tag (16).
/// The token's digest is the associated data, so a sealed value only opens in the row it was written for.
/// </summary>
public sealed class AesGcmTokenSealer : ITokenSealer, IDisposable
{
    private const byte Version = 1;
    private const int KeyIdLength = 4;
    private const int NonceLength = 12;
    private const int TagLength = 16;
    private const int HeaderLength = 1 + KeyIdLength;
    private const int SealedLength = HeaderLength + NonceLength + TokenValue.RandomBytes + TagLength;

    private readonly LoadedKeyRing _ring;

    /// <summary>A sealer of one key (a ring of one).</summary>
    public AesGcmTokenSealer(SealingKey key)
        : this(new LoadedKeyRing(SealingKeyRing.OfOne(key)))
    {
    }

    /// <summary>
    /// A sealer that follows <paramref name="ring"/>: a token is sealed under the key its key id names (the key that tagged it),
    /// else under the active key; a sealed value opens under whichever key of the ring its fingerprint names.
    /// </summary>
    public AesGcmTokenSealer(LoadedKeyRing ring) => _ring = ring;

    public byte[] Seal(string token, ReadOnlySpan<byte> digest)
    {
        Span<byte> plain = stackalloc byte[TokenValue.RandomBytes];
        if (!TokenValue.IsWellFormed(token) || Convert.FromHexString(token, plain, out _, out _) != System.Buffers.OperationStatus.Done)
        {
            throw new ArgumentException("Not a well-formed token.", nameof(token));
        }

        var ring = _ring.Current;
        var key = ring.ById(plain[0]) ?? ring.Active;
        var result = new byte[SealedLength];
        var span = result.AsSpan();
        span[0] = Version;
        key.Fingerprint.CopyTo(span.Slice(1, KeyIdLength));
        var nonce = span.Slice(HeaderLength, NonceLength);
        SecureRandom.Fill(nonce);
        var cipher = span.Slice(HeaderLength + NonceLength, TokenValue.RandomBytes);
        var tag = span.Slice(HeaderLength + NonceLength + TokenValue.RandomBytes, TagLength);
        var aes = key.Rent(TagLength);
        try
        {
            aes.Encrypt(nonce, plain, cipher, tag, digest);
        }
        finally
        {
            key.Return(aes);
        }

        CryptographicOperations.ZeroMemory(plain);
        return result;
    }

    public bool TryUnseal(ReadOnlySpan<byte> sealedToken, ReadOnlySpan<byte> digest, out string? token)
    {
        token = null;
        if (sealedToken.Length != SealedLength || sealedToken[0] != Version || _ring.Current.ByFingerprint(sealedToken.Slice(1, KeyIdLength)) is not { } key)
        {
            return false;
        }

        Span<byte> plain = stackalloc byte[TokenValue.RandomBytes];
        var aes = key.Rent(TagLength);
        try
        {
            aes.Decrypt(
                sealedToken.Slice(HeaderLength, NonceLength),
                sealedToken.Slice(HeaderLength + NonceLength, TokenValue.RandomBytes),
                sealedToken.Slice(HeaderLength + NonceLength + TokenValue.RandomBytes, TagLength),
                plain,
                digest);
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
        finally
        {
            key.Return(aes);
        }

        token = Convert.ToHexStringLower(plain);
        CryptographicOperations.ZeroMemory(plain);
        return true;
    }

    public void Dispose()
    {
        foreach (var key in _ring.Current.Entries)
        {
            key.Dispose();
        }
    }
}
