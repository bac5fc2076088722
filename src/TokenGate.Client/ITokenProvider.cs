namespace TokenGate.Client;

/// <summary>
/// The current token for one account, endpoint and address set: kept and reused until a margin before it expires (reckoned on
/// the server's clock), then renewed. Concurrent callers share one request to the API; a failed request is never cached.
/// </summary>
public interface ITokenProvider
{
    /// <summary>
    /// The cached token while it is good, else a new one from the API. Completes synchronously, without allocating, when the
    /// token is cached. Cancelling stops this caller's wait only: the request that other callers share goes on.
    /// </summary>
    /// <exception cref="TokenClientException">The API refused, or could not be reached; nothing is cached.</exception>
    ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The server said <paramref name="rejected"/> is no longer good: drop it and get another. If another caller has already
    /// replaced it, that replacement is returned without asking the API again. With null, the cached token is dropped whatever
    /// it is.
    /// </summary>
    /// <exception cref="TokenClientException">The API refused, or could not be reached; nothing is cached.</exception>
    ValueTask<AccessToken> RenewTokenAsync(AccessToken? rejected = null, CancellationToken cancellationToken = default);
}
