namespace TokenGate.Storage;

/// <summary>
/// Persistence for accounts and tokens: every capability of a store in one interface, for the server and the operator's
/// commands. Code that needs less asks for less (<see cref="ITokenLookupStore"/> to check tokens, <see cref="ITokenIssueStore"/>,
/// <see cref="IAccountStore"/>, <see cref="IAuditStore"/>, <see cref="ILoginAttemptStore"/>). Stores are thin: the policy (what is valid, what expires, who may do
/// what) lives in <see cref="TokenValidator"/>, <see cref="TokenService"/> and <see cref="AccountService"/>. Tokens are addressed
/// by the SHA-256 digest of their value only. Every method that changes data is durable when its task completes. A store that
/// cannot reach its database throws <see cref="StorageUnavailableException"/>.
/// </summary>
public interface ITokenGateStore : ITokenLookupStore, ITokenIssueStore, IAccountStore, IAuditStore, ILoginAttemptStore, IOperatorStore, IAsyncDisposable
{
    /// <summary>Creates the schema, or migrates an older one in place. Safe to call from several processes at once.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken);
}
