using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using TokenGate.Accounts;
using TokenGate.Storage;
using TokenGate.Tokens;

namespace TokenGate.Caching;

/// <summary>
/// The three caches of the hot paths, all bounded and all keyed to the store's revocation epoch:
/// looked-up tokens by their value (for <see cref="TokenValidator"/>: <c>validate</c>, introspection, <c>delete</c>), verified
/// credentials by an HMAC of the username and password (so a repeated <c>get</c> skips PBKDF2), and the current token of an
/// account and address set (so a repeated <c>get</c> skips the store).
/// </summary>
public sealed class TokenCaches
{
    private readonly TokenCacheOptions _options;
    private readonly byte[] _credentialKey = RandomNumberGenerator.GetBytes(32);
    // Keyed by the token itself, so that a hit costs no SHA-256; SecretKeyComparer keeps the lookup from telling an outsider
    // anything about stored tokens (randomized hashing, equality in constant time).
    private readonly EpochCache<string, CachedToken> _tokens;
    private readonly EpochCache<DigestKey, CachedCredential> _credentials;
    private readonly EpochCache<(long AccountId, string AddressKey), IssuedToken> _issued;

    public TokenCaches(TokenCacheOptions options)
    {
        _options = options;
        _tokens = new(options.MaxTokens, SecretKeyComparer.Instance);
        _credentials = new(options.MaxCredentials);
        _issued = new(options.MaxTokens);
    }

    public bool Enabled => _options.Enabled;

    public int TokenCount => _tokens.Count;

    internal bool TryGetToken(string token, long epoch, out CachedToken found) => _tokens.TryGet(token, epoch, out found);

    internal void SetToken(string token, long epoch, CachedToken found) => _tokens.Set(token, epoch, found);

    internal void ForgetToken(string token) => _tokens.Remove(token);

    internal bool TryGetCredential(in DigestKey key, long epoch, long now, out AccountRecord account)
    {
        if (_credentials.TryGet(key, epoch, out var credential) && now < credential.VerifiedAt + (long)_options.CredentialLifetime.TotalSeconds)
        {
            account = credential.Account;
            return true;
        }

        account = null!;
        return false;
    }

    internal void SetCredential(in DigestKey key, long epoch, long now, AccountRecord account) =>
        _credentials.Set(key, epoch, new CachedCredential(account, now));

    internal bool TryGetIssued(long accountId, string addressKey, long epoch, long now, out IssuedToken issued) =>
        _issued.TryGet((accountId, addressKey), epoch, out issued) && now < issued.Handed.ExpiresAt;

    internal void SetIssued(long accountId, string addressKey, long epoch, IssuedToken issued) =>
        _issued.Set((accountId, addressKey), epoch, issued);

    /// <summary>
    /// An HMAC of the username, the password and the scope of the verification (the client it was verified for) under a key that
    /// lives only in this process: never the password itself.
    /// </summary>
    internal DigestKey CredentialKey(string username, string password, string scope)
    {
        var length = Encoding.UTF8.GetByteCount(username) + 1 + Encoding.UTF8.GetByteCount(password) + 1 + Encoding.UTF8.GetByteCount(scope);
        var buffer = length <= 1024 ? stackalloc byte[length] : new byte[length];
        var written = Encoding.UTF8.GetBytes(username, buffer);
        buffer[written++] = 0;
        written += Encoding.UTF8.GetBytes(password, buffer[written..]);
        buffer[written++] = 0;
        Encoding.UTF8.GetBytes(scope, buffer[written..]);
        Span<byte> mac = stackalloc byte[32];
        Security.KeyedHmacs.Compute(_credentialKey, buffer, mac);
        CryptographicOperations.ZeroMemory(buffer);
        return DigestKey.From(mac);
    }
}

/// <summary>A 32-byte digest as a dictionary key (its bytes are a keyed MAC or a hash, never a secret itself).</summary>
public readonly record struct DigestKey(ulong A, ulong B, ulong C, ulong D)
{
    public static DigestKey From(ReadOnlySpan<byte> digest) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(digest),
        BinaryPrimitives.ReadUInt64LittleEndian(digest[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(digest[16..]),
        BinaryPrimitives.ReadUInt64LittleEndian(digest[24..]));
}

/// <summary>A stored token with its address set already parsed, and whether every address lies in its account's allowed networks.</summary>
internal sealed record CachedToken(StoredToken Token, AddressSet Addresses)
{
    public bool WithinAllowedNetworks { get; } = Accounts.AllowedNetworks.FromStored(Token.AllowedNetworks)?.ContainsAll(Addresses) ?? true;
}

internal sealed record CachedCredential(AccountRecord Account, long VerifiedAt);

/// <summary>An account's current token for an address set: the answer <c>get</c> hands back while it is current.</summary>
internal sealed record IssuedToken(IssueResult Handed);
