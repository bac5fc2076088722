using System.Net;
using System.Security.Cryptography;
using TokenGate.Caching;
using TokenGate.Security;
using TokenGate.Storage;
using TokenGate.Tokens;

namespace TokenGate;

/// <summary>
/// The token check, apart from issuing: <c>validate</c>, introspection and the verdict (bound address, expiry, the retention
/// window). It needs a store that can look tokens up, the epoch caches, the clock and the configured retention, and neither the
/// sealing key nor the password hasher, so an API that only accepts tokens runs the very code of the server's <c>validate</c>.
/// Given a <see cref="TokenTagger"/> (whose key is derived from the sealing key), it refuses a token whose tag does not verify
/// before any cache or store lookup, unless the store may still hold tokens issued before tags (<see cref="ILegacyTokenMarker"/>);
/// without one, every well-formed token is looked up, as before tags. Every clock read goes through the <see cref="TimeProvider"/>.
/// </summary>
public sealed class TokenValidator
{
    private readonly ITokenLookupStore _store;
    private readonly TimeProvider _time;
    private readonly TokenCaches _caches;
    private readonly long _retentionSeconds;
    private readonly TokenTagger? _tagger;

    // Goes from true to false once, when no untagged token can be answered any more; never back.
    private volatile bool _legacyTokensMayExist;

    public TokenValidator(ITokenLookupStore store, TokenPolicyOptions options, TimeProvider time, TokenCaches? caches = null, TokenTagger? tagger = null)
    {
        options.Validate();
        _store = store;
        _time = time;
        _caches = caches ?? new TokenCaches(new TokenCacheOptions { Enabled = false });
        _retentionSeconds = (long)options.ExpiredRetention.TotalSeconds;
        _tagger = tagger;
        _legacyTokensMayExist = tagger is not null && store is ILegacyTokenMarker;
    }

    /// <summary>How long an expired token is still answered <see cref="TokenStatus.Expired"/> rather than invalid.</summary>
    public TimeSpan ExpiredRetention => TimeSpan.FromSeconds(_retentionSeconds);

    /// <summary>The <c>validate</c> action. Never changes the token.</summary>
    public ValueTask<TokenValidation> ValidateAsync(string? token, IPAddress caller, CancellationToken cancellationToken)
    {
        // A forged token, or one the cache answers, is judged without an async layer of its own.
        var lookup = LookupAsync(token, cancellationToken);
        return lookup.IsCompletedSuccessfully ? new ValueTask<TokenValidation>(Verdict(lookup.Result, caller)) : ValidateWhenFoundAsync(lookup, caller);
    }

    private async ValueTask<TokenValidation> ValidateWhenFoundAsync(ValueTask<CachedToken?> lookup, IPAddress caller) => Verdict(await lookup, caller);

    private TokenValidation Verdict(CachedToken? found, IPAddress caller) => found is null ? TokenValidation.Invalid : Judge(found, caller);

    /// <summary>
    /// What a resource server may learn of a token (RFC 7662 introspection): the same verdict as <see cref="ValidateAsync"/>
    /// without the address check, which the resource server makes against its own client's address.
    /// </summary>
    public async ValueTask<TokenValidation> IntrospectAsync(string? token, CancellationToken cancellationToken)
    {
        var found = await LookupAsync(token, cancellationToken);
        return found is null ? TokenValidation.Invalid : Judge(found, caller: null);
    }

    /// <summary>
    /// Applies the policy to a looked-up token presented with <paramref name="digest"/> (the SHA-256 of the presented value):
    /// the digest must be the stored one, then bound address first, then expiry, then the retention window.
    /// </summary>
    public TokenValidation Judge(StoredToken? stored, ReadOnlySpan<byte> digest, IPAddress caller) =>
        stored is not null && CryptographicOperations.FixedTimeEquals(stored.Digest, digest) && AddressSet.TryParse(stored.AddressKey, out var addresses)
            ? Judge(new CachedToken(stored, addresses!), caller)
            : TokenValidation.Invalid;

    /// <summary>
    /// Whether <paramref name="token"/> could be a live token without looking it up: its tag verifies, or it may be one issued
    /// before tags while the store may still hold such tokens. True for every well-formed token when there is no tagger.
    /// </summary>
    public bool MayBeIssued(string token) => _tagger is null || _tagger.Verify(token) || LegacyTokensMayExist();

    /// <summary>
    /// <see cref="MayBeIssued"/> for a token that passed it before (one remembered by <c>get</c>): its tag cannot have changed,
    /// only its key can have left the ring, so only the key id is looked up. An untagged token remembered while the legacy window
    /// was open has expired by the time the window closes (the window is the last such expiry plus the retention).
    /// </summary>
    internal bool MayStillBeIssued(string token) => _tagger is null || _tagger.HoldsKeyOf(token) || LegacyTokensMayExist();

    /// <summary>
    /// True while the store may hold an untagged token that is still answered valid or expired: its marker names an expiry that,
    /// with the retention window, is not yet past. Checked only for tokens whose tag fails; the marker is kept in memory by the
    /// store, so this costs no I/O, and once false it stays false.
    /// </summary>
    private bool LegacyTokensMayExist()
    {
        if (!_legacyTokensMayExist)
        {
            return false;
        }

        if (((ILegacyTokenMarker)_store).LegacyTokensExpireAt is { } lastExpiry && _time.GetUtcNow().ToUnixTimeSeconds() < lastExpiry + _retentionSeconds)
        {
            return true;
        }

        _legacyTokensMayExist = false;
        return false;
    }

    /// <summary>Forgets a token this process has cached (after deleting it), so that the next check reads the store.</summary>
    internal void Forget(string token) => _caches.ForgetToken(token);

    /// <summary>
    /// The stored token for a token value, through the cache; null when malformed, forged (its tag fails and no untagged token
    /// can be live: refused before the cache and the store, see <see cref="MayBeIssued"/>), unknown or damaged. A value read from the
    /// store is trusted only once its digest matches the presented value's, compared in constant time (a store's lookup may be
    /// looser than byte equality); only then is it cached, keyed by the value under a constant-time comparer, so a cache hit is
    /// that same comparison already made.
    /// </summary>
    internal ValueTask<CachedToken?> LookupAsync(string? token, CancellationToken cancellationToken)
    {
        if (token is null || !TokenValue.IsWellFormed(token) || !MayBeIssued(token))
        {
            return default;
        }

        var epoch = _caches.Enabled ? _store.ObserveRevocationEpoch() : null;
        if (epoch is { } known && _caches.TryGetToken(token, known, out var cached))
        {
            return new ValueTask<CachedToken?>(cached);
        }

        return FindAsync(token, epoch, cancellationToken);
    }

    /// <summary><see cref="LookupAsync"/>'s store read, for a token that may be live and was not in the cache.</summary>
    private async ValueTask<CachedToken?> FindAsync(string token, long? epoch, CancellationToken cancellationToken)
    {
        var digest = TokenValue.ComputeDigest(token);
        var stored = await _store.FindTokenAsync(digest, cancellationToken);

        // A damaged row binds the token to nothing.
        if (stored is null || !CryptographicOperations.FixedTimeEquals(stored.Digest, digest) || !AddressSet.TryParse(stored.AddressKey, out var addresses))
        {
            return null;
        }

        var found = new CachedToken(stored, addresses!);
        if (epoch is { } observed)
        {
            _caches.SetToken(token, observed, found);
        }

        return found;
    }

    /// <summary>
    /// The verdict on a stored token. With a null <paramref name="caller"/> (introspection) the address is not checked. A token
    /// bound to any address outside its account's allowed networks (the policy was narrowed after it was issued) is invalid.
    /// </summary>
    private TokenValidation Judge(CachedToken found, IPAddress? caller)
    {
        var (stored, addresses) = (found.Token, found.Addresses);
        if (!stored.AccountEnabled || !found.WithinAllowedNetworks || (caller is not null && !addresses.Contains(caller)))
        {
            return TokenValidation.Invalid;
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (now < stored.ExpiresAt)
        {
            return new TokenValidation(TokenStatus.Valid, stored, addresses);
        }

        return now < stored.ExpiresAt + _retentionSeconds ? TokenValidation.Expired : TokenValidation.Invalid;
    }
}
