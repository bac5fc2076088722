using System.Security.Cryptography;
using TokenGate.Tokens;

namespace TokenGate.Security;

/// <summary>
/// AES-256-GCM sealing. Layout: version (1 byte) | key id (4 bytes) | nonce (12) | ciphertext (20) | tag (16).
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

    // An AesGcm instance must not be used by two threads at once: one per thread.
    private readonly ThreadLocal<AesGcm> _aes;
    private readonly byte[] _keyId;

    public AesGcmTokenSealer(SealingKey key)
    {
        _aes = new ThreadLocal<AesGcm>(() => new AesGcm(key.Bytes, TagLength), trackAllValues: true);
        _keyId = key.Id;
    }

    public byte[] Seal(string token, ReadOnlySpan<byte> digest)
    {
        Span<byte> plain = stackalloc byte[TokenValue.RandomBytes];
        if (!TokenValue.IsWellFormed(token) || Convert.FromHexString(token, plain, out _, out _) != System.Buffers.OperationStatus.Done)
        {
            throw new ArgumentException("Not a well-formed token.", nameof(token));
        }

        var result = new byte[SealedLength];
        var span = result.AsSpan();
        span[0] = Version;
        _keyId.CopyTo(span.Slice(1, KeyIdLength));
        var nonce = span.Slice(HeaderLength, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        var cipher = span.Slice(HeaderLength + NonceLength, TokenValue.RandomBytes);
        var tag = span.Slice(HeaderLength + NonceLength + TokenValue.RandomBytes, TagLength);
        _aes.Value!.Encrypt(nonce, plain, cipher, tag, digest);
        CryptographicOperations.ZeroMemory(plain);
        return result;
    }

    public bool TryUnseal(ReadOnlySpan<byte> sealedToken, ReadOnlySpan<byte> digest, out string? token)
    {
        token = null;
        if (sealedToken.Length != SealedLength || sealedToken[0] != Version || !sealedToken.Slice(1, KeyIdLength).SequenceEqual(_keyId))
        {
            return false;
        }

        Span<byte> plain = stackalloc byte[TokenValue.RandomBytes];
        try
        {
            _aes.Value!.Decrypt(
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

        token = Convert.ToHexStringLower(plain);
        CryptographicOperations.ZeroMemory(plain);
        return true;
    }

    public void Dispose()
    {
        foreach (var aes in _aes.Values)
        {
            aes.Dispose();
        }

        _aes.Dispose();
    }
}
