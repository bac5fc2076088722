namespace TokenGate.Caching;

/// <summary>
/// The in-memory caches in front of the store. They never outlive a revocation: every entry is tagged with the store's revocation
/// epoch (see <see cref="Storage.ITokenLookupStore.ObserveRevocationEpoch"/>), which moves whenever any process deletes a token,
/// changes a password, or disables, removes or revokes an account; an entry from an older epoch is a miss.
/// </summary>
public sealed class TokenCacheOptions
{
    /// <summary>Whether the caches are used at all. Off, every request reads the store and every login runs PBKDF2.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The most validated tokens kept. Past it the cache starts over (a bounded, O(1) policy).</summary>
    public int MaxTokens { get; set; } = 100_000;

    /// <summary>The most verified credentials kept.</summary>
    public int MaxCredentials { get; set; } = 10_000;

    /// <summary>
    /// How long a verified username and password is remembered so that a repeated <c>get</c> skips PBKDF2. A password change,
    /// disable or removal ends it at once; this bounds it otherwise. See docs/SECURITY.md for the trade-off.
    /// </summary>
    public TimeSpan CredentialLifetime { get; set; } = TimeSpan.FromMinutes(5);
}
