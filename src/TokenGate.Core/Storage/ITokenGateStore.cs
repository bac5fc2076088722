using TokenGate.Accounts;

namespace TokenGate.Storage;

/// <summary>
/// Persistence for accounts and tokens. Stores are thin: the policy (what is valid, what expires, who may do what) lives in
/// <see cref="TokenService"/> and <see cref="AccountService"/>. Tokens are addressed by the SHA-256 digest of their value only.
/// Every method that changes data is durable when its task completes. A store that cannot reach its database throws
/// <see cref="StorageUnavailableException"/>.
/// </summary>
public interface ITokenGateStore : IAuditStore, ILoginAttemptStore, IAsyncDisposable
{
    /// <summary>Creates the schema, or migrates an older one in place. Safe to call from several processes at once.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken);

    ValueTask<AccountRecord?> FindAccountAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every account, by name, with how many tokens it holds that are unexpired at <paramref name="now"/>.</summary>
    ValueTask<IReadOnlyList<AccountSummary>> ListAccountsAsync(long now, CancellationToken cancellationToken);

    /// <summary>Adds an account; false when the name is taken.</summary>
    ValueTask<bool> CreateAccountAsync(string name, string passwordHash, long createdAt, CancellationToken cancellationToken);

    /// <summary>
    /// Sets a new password hash, changes the credential stamp and deletes every token of the account except
    /// <paramref name="keepTokenDigest"/> (when given), in one transaction. False when the account does not exist.
    /// </summary>
    ValueTask<bool> ChangePasswordAsync(long accountId, string passwordHash, ReadOnlyMemory<byte>? keepTokenDigest, CancellationToken cancellationToken);

    /// <summary>Replaces a hash with a stronger one of the same password, only if it is still <paramref name="currentHash"/>.</summary>
    ValueTask RehashPasswordAsync(long accountId, string currentHash, string newHash, CancellationToken cancellationToken);

    /// <summary>Enables or disables an account; disabling also changes its credential stamp and deletes its tokens. False when unknown.</summary>
    ValueTask<bool> SetAccountEnabledAsync(string name, bool enabled, CancellationToken cancellationToken);

    /// <summary>Marks an account as a resource server that may introspect tokens, or unmarks it; moves the revocation epoch.
    /// False when unknown.</summary>
    ValueTask<bool> SetAccountIntrospectionAsync(string name, bool allowed, CancellationToken cancellationToken);

    /// <summary>Removes an account and its tokens. False when unknown.</summary>
    ValueTask<bool> RemoveAccountAsync(string name, CancellationToken cancellationToken);

    /// <summary>The token with this digest, with its account's name and state; null when there is none.</summary>
    ValueTask<StoredToken?> FindTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically: if the account holds a token bound to exactly <see cref="TokenIssueRequest.AddressKey"/> that is unexpired at
    /// <see cref="TokenIssueRequest.Now"/>, returns it; otherwise stores the candidate and returns it. Refuses when the account's
    /// credential stamp is no longer <see cref="TokenIssueRequest.CredentialStamp"/> or the account is disabled or gone, and
    /// when the account already holds <see cref="TokenIssueRequest.MaxActiveTokens"/> unexpired tokens.
    /// Concurrent calls for one account and address set return one token.
    /// </summary>
    ValueTask<TokenIssueResult> GetOrAddTokenAsync(TokenIssueRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// The account's newest token bound to exactly <paramref name="addressKey"/> that is unexpired at <paramref name="now"/>
    /// (status <see cref="TokenIssueStatus.Existing"/>), or null. A read: <c>get</c> tries it before queueing a write.
    /// </summary>
    ValueTask<TokenIssueResult?> FindCurrentTokenAsync(long accountId, string addressKey, long now, CancellationToken cancellationToken);

    /// <summary>
    /// The revocation epoch: a number that moves (in the same transaction) whenever any process deletes a token, changes a
    /// password, or disables, removes or revokes the tokens of an account. In-memory caches are valid only under the epoch they
    /// were filled in. Called on every request, so it must be cheap; null when the store cannot tell now (caches are then
    /// bypassed).
    /// </summary>
    long? ObserveRevocationEpoch();

    /// <summary>Deletes a token; false when there was none.</summary>
    ValueTask<bool> DeleteTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken);

    /// <summary>Deletes every token of the named account, or of every account when <paramref name="accountName"/> is null.</summary>
    ValueTask<int> RevokeTokensAsync(string? accountName, CancellationToken cancellationToken);

    /// <summary>Tokens (never their values) of one account or of all, newest first, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<TokenSummary>> ListTokensAsync(string? accountName, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes at most <paramref name="batchSize"/> tokens that expired at or before <paramref name="expiredAtOrBefore"/>;
    /// returns how many it deleted. One short transaction per call.</summary>
    ValueTask<int> PurgeExpiredTokensAsync(long expiredAtOrBefore, int batchSize, CancellationToken cancellationToken);
}
