using TokenGate.Accounts;

namespace TokenGate.Storage;

/// <summary>Accounts: logging in, the operator's account commands and <c>newpass</c>.</summary>
public interface IAccountStore
{
    ValueTask<AccountRecord?> FindAccountAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every account, by name, with how many tokens it holds that are unexpired at <paramref name="now"/>.</summary>
    ValueTask<IReadOnlyList<AccountSummary>> ListAccountsAsync(long now, CancellationToken cancellationToken);

    /// <summary>
    /// At most <paramref name="limit"/> accounts by name (ordinal), only names after <paramref name="after"/> when given (keyset
    /// paging: pass the last name of the previous page), only names containing <paramref name="nameContains"/> ignoring case
    /// (A-Z against a-z) when given; each with its tokens unexpired at <paramref name="now"/>.
    /// </summary>
    ValueTask<IReadOnlyList<AccountSummary>> SearchAccountsAsync(string? nameContains, string? after, int limit, long now, CancellationToken cancellationToken);

    /// <summary>How many accounts are enabled and disabled, and how many tokens are unexpired at <paramref name="now"/>.</summary>
    ValueTask<AccountCounts> CountAccountsAsync(long now, CancellationToken cancellationToken);

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

    /// <summary>
    /// Replaces an account's policy (networks, token lifetime, token cap; nulls for the server's settings) and moves the revocation
    /// epoch in the same transaction, so that every process's caches forget what they knew of the account's tokens and
    /// credentials. False when unknown.
    /// </summary>
    ValueTask<bool> SetAccountPolicyAsync(string name, AccountPolicy policy, CancellationToken cancellationToken);

    /// <summary>Removes an account and its tokens. False when unknown.</summary>
    ValueTask<bool> RemoveAccountAsync(string name, CancellationToken cancellationToken);
}
