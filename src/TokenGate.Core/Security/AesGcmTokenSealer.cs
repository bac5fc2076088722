using System.Collections.Concurrent;
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

    // An AesGcm instance must not be used by two threads at once, and building one costs a key schedule: keep a small pool.
    private readonly ConcurrentBag<AesGcm> _pool = [];
    private readonly byte[] _key;
    private readonly byte[] _keyId;

    public AesGcmTokenSealer(SealingKey key)
    {
        _key = key.Bytes;
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
        SecureRandom.Fill(nonce);
        var cipher = span.Slice(HeaderLength + NonceLength, TokenValue.RandomBytes);
        var tag = span.Slice(HeaderLength + NonceLength + TokenValue.RandomBytes, TagLength);
        var aes = Rent();
        try
        {
            aes.Encrypt(nonce, plain, cipher, tag, digest);
        }
        finally
        {
            Return(aes);
        }

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
        var aes = Rent();
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
            Return(aes);
        }

        token = Convert.ToHexStringLower(plain);
        CryptographicOperations.ZeroMemory(plain);
        return true;
    }

    public void Dispose()
    {
        while (_pool.TryTake(out var aes))
        {
            aes.Dispose();
        }
    }

    private AesGcm Rent() => _pool.TryTake(out var aes) ? aes : new AesGcm(_key, TagLength);

    private void Return(AesGcm aes)
    {
        if (_pool.Count < Environment.ProcessorCount * 2)
        {
            _pool.Add(aes);
        }
        else
        {
            aes.Dispose();
        }
    }
}
