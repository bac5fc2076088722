using Microsoft.Extensions.DependencyInjection;
using TokenGate.Accounts;
using TokenGate.Operators;
using TokenGate.Server.Hosting;
using TokenGate.Storage;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>A real store that can be switched "down": every call then fails as a database outage does. While down it also
/// reports the revocation epoch as unknown, as a store that has lost its database does, so caches are bypassed. It counts the
/// calls that reach a token by its digest (find, delete, and the password change that keeps one).</summary>
internal sealed partial class OutageStore(ITokenGateStore inner) : ITokenGateStore
{
    public volatile bool Down;

    private int _tokenCalls;

    public int TokenCalls => Volatile.Read(ref _tokenCalls);

    private ValueTask<T> CountTokenCall<T>(ValueTask<T> call)
    {
        Interlocked.Increment(ref _tokenCalls);
        return call;
    }

    /// <summary>A real server whose store is an <see cref="OutageStore"/> over the one it would have used.</summary>
    public static async Task<(TokenGateTestServer Server, OutageStore Outage)> StartServerAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        OutageStore? outage = null;
        var server = await TokenGateTestServer.StartAsync(settings, customize: services =>
            services.AddSingleton<ITokenGateStore>(provider => outage = new OutageStore(TokenGateStores.Create(provider.GetRequiredService<TokenGateSettings>().Database))));
        return (server, outage!);
    }

    private T Check<T>(T value) => Down ? throw new StorageUnavailableException("Simulated outage.") : value;

    private async ValueTask<T> Guard<T>(Func<ValueTask<T>> call) => Down ? throw new StorageUnavailableException("Simulated outage.") : await call();

    private async ValueTask Guard(Func<ValueTask> call)
    {
        Check(0);
        await call();
    }

    public ValueTask InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public ValueTask<AccountRecord?> FindAccountAsync(string name, CancellationToken cancellationToken) => Guard(() => inner.FindAccountAsync(name, cancellationToken));

    public ValueTask<IReadOnlyList<AccountSummary>> ListAccountsAsync(long now, CancellationToken cancellationToken) => Guard(() => inner.ListAccountsAsync(now, cancellationToken));

    public ValueTask<bool> CreateAccountAsync(string name, string passwordHash, long createdAt, CancellationToken cancellationToken) => Guard(() => inner.CreateAccountAsync(name, passwordHash, createdAt, cancellationToken));

    public ValueTask<bool> ChangePasswordAsync(long accountId, string passwordHash, ReadOnlyMemory<byte>? keepTokenDigest, CancellationToken cancellationToken) => CountTokenCall(Guard(() => inner.ChangePasswordAsync(accountId, passwordHash, keepTokenDigest, cancellationToken)));

    public ValueTask RehashPasswordAsync(long accountId, string currentHash, string newHash, CancellationToken cancellationToken) => Guard(() => inner.RehashPasswordAsync(accountId, currentHash, newHash, cancellationToken));

    public ValueTask<bool> SetAccountEnabledAsync(string name, bool enabled, CancellationToken cancellationToken) => Guard(() => inner.SetAccountEnabledAsync(name, enabled, cancellationToken));

    public ValueTask<bool> SetAccountIntrospectionAsync(string name, bool allowed, CancellationToken cancellationToken) => Guard(() => inner.SetAccountIntrospectionAsync(name, allowed, cancellationToken));

    public ValueTask<bool> SetAccountPolicyAsync(string name, AccountPolicy policy, CancellationToken cancellationToken) => Guard(() => inner.SetAccountPolicyAsync(name, policy, cancellationToken));

    public ValueTask<bool> RemoveAccountAsync(string name, CancellationToken cancellationToken) => Guard(() => inner.RemoveAccountAsync(name, cancellationToken));

    public ValueTask<StoredToken?> FindTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken) => CountTokenCall(Guard(() => inner.FindTokenAsync(digest, cancellationToken)));

    public ValueTask<TokenIssueResult> GetOrAddTokenAsync(TokenIssueRequest request, CancellationToken cancellationToken) => Guard(() => inner.GetOrAddTokenAsync(request, cancellationToken));

    public bool ReadsBeforeIssuing => inner.ReadsBeforeIssuing;

    public ValueTask<TokenIssueResult?> FindCurrentTokenAsync(long accountId, string addressKey, long now, long latestExpiry, CancellationToken cancellationToken) => Guard(() => inner.FindCurrentTokenAsync(accountId, addressKey, now, latestExpiry, cancellationToken));

    public long? ObserveRevocationEpoch() => Down ? null : inner.ObserveRevocationEpoch();

    public ValueTask<bool> DeleteTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken) => CountTokenCall(Guard(() => inner.DeleteTokenAsync(digest, cancellationToken)));

    public ValueTask<string?> RevokeTokenByIdAsync(ReadOnlyMemory<byte> low, ReadOnlyMemory<byte> high, CancellationToken cancellationToken) => Guard(() => inner.RevokeTokenByIdAsync(low, high, cancellationToken));

    public ValueTask<int> RevokeTokensAsync(string? accountName, CancellationToken cancellationToken) => Guard(() => inner.RevokeTokensAsync(accountName, cancellationToken));

    public ValueTask<IReadOnlyList<TokenSummary>> ListTokensAsync(string? accountName, int limit, CancellationToken cancellationToken) => Guard(() => inner.ListTokensAsync(accountName, limit, cancellationToken));

    public ValueTask<int> PurgeExpiredTokensAsync(long expiredAtOrBefore, int batchSize, CancellationToken cancellationToken) => Guard(() => inner.PurgeExpiredTokensAsync(expiredAtOrBefore, batchSize, cancellationToken));

    public ValueTask AppendAuditAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken) => Guard(() => inner.AppendAuditAsync(entries, cancellationToken));

    public ValueTask<IReadOnlyList<AuditRecord>> SearchAuditAsync(AuditQuery query, CancellationToken cancellationToken) => Guard(() => inner.SearchAuditAsync(query, cancellationToken));

    public ValueTask<IReadOnlyList<AccountSummary>> SearchAccountsAsync(string? nameContains, string? after, int limit, long now, CancellationToken cancellationToken) => Guard(() => inner.SearchAccountsAsync(nameContains, after, limit, now, cancellationToken));

    public ValueTask<AccountCounts> CountAccountsAsync(long now, CancellationToken cancellationToken) => Guard(() => inner.CountAccountsAsync(now, cancellationToken));

    public ValueTask<OperatorRecord?> FindOperatorAsync(string name, CancellationToken cancellationToken) => Guard(() => inner.FindOperatorAsync(name, cancellationToken));

    public ValueTask<IReadOnlyList<OperatorSummary>> ListOperatorsAsync(CancellationToken cancellationToken) => Guard(() => inner.ListOperatorsAsync(cancellationToken));

    public ValueTask<bool> CreateOperatorAsync(string name, string passwordHash, long createdAt, CancellationToken cancellationToken) => Guard(() => inner.CreateOperatorAsync(name, passwordHash, createdAt, cancellationToken));

    public ValueTask<bool> SetOperatorPasswordAsync(string name, string passwordHash, CancellationToken cancellationToken) => Guard(() => inner.SetOperatorPasswordAsync(name, passwordHash, cancellationToken));

    public ValueTask<bool> RemoveOperatorAsync(string name, CancellationToken cancellationToken) => Guard(() => inner.RemoveOperatorAsync(name, cancellationToken));

    public ValueTask<int> PurgeAuditAsync(long before, int batchSize, CancellationToken cancellationToken) => Guard(() => inner.PurgeAuditAsync(before, batchSize, cancellationToken));

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
