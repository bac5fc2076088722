namespace TokenGate.Client;

/// <summary>
/// A persistent token cache, so that a restarted process reuses its token, as the vendor advises ("your returned token should
/// be stored locally until you need to fetch a new one"). The built-in one is a file per key (see
/// <see cref="TokenClientOptions.CacheDirectory"/>); plug in another with <c>UseTokenStore</c>. The provider treats a store as
/// best effort: an exception from it is logged and the token is fetched from (or kept only in memory for) the API.
/// </summary>
public interface ITokenStore
{
    /// <summary>The token stored under <paramref name="cacheKey"/>, or null if there is none (or none that can be trusted).</summary>
    /// <param name="cacheKey">
    /// An opaque key that holds everything that changes the token: the endpoint, the username and the address set. It contains
    /// no secret. An entry stored under another key must never be returned.
    /// </param>
    /// <param name="cancellationToken">Cancels the read.</param>
    ValueTask<StoredToken?> GetAsync(string cacheKey, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="token"/> under <paramref name="cacheKey"/>, replacing what was there.</summary>
    /// <param name="cacheKey">See <see cref="GetAsync"/>.</param>
    /// <param name="token">The token and its expiry.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    ValueTask SetAsync(string cacheKey, StoredToken token, CancellationToken cancellationToken);
}

/// <summary>A token as a <see cref="ITokenStore"/> keeps it. Its <see cref="ToString"/> never shows the token's value.</summary>
public sealed class StoredToken
{
    /// <summary>Creates an entry.</summary>
    /// <param name="value">The token.</param>
    /// <param name="expiresAt">Its expiry on the server's clock (the API's <c>expire</c>).</param>
    /// <param name="localExpiresAt">
    /// Its expiry on this machine's clock: when it was received plus the lifetime the server gave it. Renewal is scheduled from
    /// this one, so a skewed local clock does not matter.
    /// </param>
    public StoredToken(string value, DateTimeOffset expiresAt, DateTimeOffset localExpiresAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        Value = value;
        ExpiresAt = expiresAt;
        LocalExpiresAt = localExpiresAt;
    }

    /// <summary>The token.</summary>
    public string Value { get; }

    /// <summary>Its expiry on the server's clock.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>Its expiry on this machine's clock.</summary>
    public DateTimeOffset LocalExpiresAt { get; }

    /// <summary>Describes the entry without the token's value.</summary>
    public override string ToString() => $"StoredToken {{ ExpiresAt = {ExpiresAt:O}, LocalExpiresAt = {LocalExpiresAt:O}, Value = [redacted] }}";
}
