namespace TokenGate.Storage;

/// <summary>Issuing and removing tokens: what <c>get</c>, <c>delete</c> and the operator's token commands need of a store.</summary>
public interface ITokenIssueStore
{
    /// <summary>
    /// Atomically: if the account holds a token bound to exactly <see cref="TokenIssueRequest.AddressKey"/> that is unexpired at
    /// <see cref="TokenIssueRequest.Now"/> and expires no later than <see cref="TokenIssueRequest.LatestReusableExpiry"/>, returns
    /// it (the latest-expiring such); otherwise stores the candidate and returns it. Refuses when the account's
    /// credential stamp is no longer <see cref="TokenIssueRequest.CredentialStamp"/> or the account is disabled or gone, and
    /// when the account already holds <see cref="TokenIssueRequest.MaxActiveTokens"/> unexpired tokens.
    /// Concurrent calls for one account and address set return one token. When the request carries
    /// <see cref="TokenIssueRequest.Audit"/>, the outcome's entry (<see cref="TokenIssueRequest.AuditEntryFor"/>: a token added, or
    /// refused for too many) is written in the same transaction: both or neither.
    /// </summary>
    ValueTask<TokenIssueResult> GetOrAddTokenAsync(TokenIssueRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// The account's latest-expiring token bound to exactly <paramref name="addressKey"/> that is unexpired at <paramref name="now"/>
    /// and expires no later than <paramref name="latestExpiry"/> (status <see cref="TokenIssueStatus.Existing"/>), or null. A read:
    /// <c>get</c> tries it before queueing a write.
    /// </summary>
    ValueTask<TokenIssueResult?> FindCurrentTokenAsync(long accountId, string addressKey, long now, long latestExpiry, CancellationToken cancellationToken);

    /// <summary>
    /// Whether <c>get</c> looks for the current token with <see cref="FindCurrentTokenAsync"/> before it queues a write: worth
    /// it where a read costs little beside a write (SQLite: in process, and its one writer is what limits issuing); not where
    /// <see cref="GetOrAddTokenAsync"/> finds the current token in the round trip it takes anyway (PostgreSQL's batch), so that
    /// the read would be a second round trip, and a second query for the server, for every new token.
    /// </summary>
    bool ReadsBeforeIssuing => true;

    /// <summary>Deletes a token; false when there was none.</summary>
    ValueTask<bool> DeleteTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the token whose non-secret id (<see cref="Tokens.TokenValue.IdOf"/>) falls in the digest range
    /// <paramref name="low"/>..<paramref name="high"/> (<see cref="Tokens.TokenValue.TryGetDigestRange"/>); returns the name of
    /// the account it belonged to, or null when there was none.
    /// </summary>
    ValueTask<string?> RevokeTokenByIdAsync(ReadOnlyMemory<byte> low, ReadOnlyMemory<byte> high, CancellationToken cancellationToken);

    /// <summary>Deletes every token of the named account, or of every account when <paramref name="accountName"/> is null.</summary>
    ValueTask<int> RevokeTokensAsync(string? accountName, CancellationToken cancellationToken);

    /// <summary>Tokens (never their values) of one account or of all, newest first, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<TokenSummary>> ListTokensAsync(string? accountName, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes at most <paramref name="batchSize"/> tokens that expired at or before <paramref name="expiredAtOrBefore"/>;
    /// returns how many it deleted. One short transaction per call.</summary>
    ValueTask<int> PurgeExpiredTokensAsync(long expiredAtOrBefore, int batchSize, CancellationToken cancellationToken);
}
