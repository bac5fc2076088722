using System.Diagnostics;
using Xunit;

namespace TokenGate.Storage.Conformance;

/// <summary>The read path of <c>get</c>, the revocation epoch that in-memory caches rely on, and the audit trail.</summary>
public abstract partial class TokenGateStoreSpecification
{
    /// <summary>How long a store may take to show its own revocation (a store that is told by notification may lag a little).</summary>
    private static readonly TimeSpan EpochLag = TimeSpan.FromSeconds(2);

    [Fact(Timeout = TestTimeout)]
    public async Task Find_current_token_returns_the_newest_unexpired_token_of_the_account_and_address_set()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        var older = await IssueAsync(store, alice, "10.0.0.1", issuedAt: Now - 100, expiresAt: Now + 50);
        await store.GetOrAddTokenAsync(Request(alice, "10.0.0.1", now: Now, alwaysAdd: true) with { ExpiresAt = Now + 500 }, Cancel);
        await IssueAsync(store, bob, "10.0.0.2");

        var current = await store.FindCurrentTokenAsync(alice.Id, "10.0.0.1", Now, long.MaxValue, Cancel);
        var later = await store.FindCurrentTokenAsync(alice.Id, "10.0.0.1", Now + 500, long.MaxValue, Cancel);
        var otherSet = await store.FindCurrentTokenAsync(alice.Id, "10.0.0.2", Now, long.MaxValue, Cancel);

        Assert.NotNull(current);
        Assert.Equal(TokenIssueStatus.Existing, current.Status);
        Assert.Equal(Now + 500, current.ExpiresAt);
        Assert.NotEqual(older.Digest, current.Digest);
        Assert.NotNull(current.SealedToken);
        Assert.Null(later);
        Assert.Null(otherSet);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_revocation_epoch_is_known_and_stays_put_while_nothing_is_revoked()
    {
        await using var store = await CreateStoreAsync();
        var start = store.ObserveRevocationEpoch();
        Assert.NotNull(start);

        var alice = await NewAccountAsync(store, "alice");
        await IssueAsync(store, alice, "10.0.0.1");
        await store.RehashPasswordAsync(alice.Id, alice.PasswordHash, "stronger-hash", Cancel);
        await store.AppendAuditAsync([new AuditEntry(Now, "alice", "10.0.0.1", AuditActions.Get, AuditActions.Issued)], Cancel);
        await store.PurgeExpiredTokensAsync(Now - 1, 10, Cancel);
        await Task.Delay(EpochLag / 4, Cancel);

        Assert.Equal(start, store.ObserveRevocationEpoch());
    }

    public static TheoryData<string> Revocations() => ["delete token", "revoke by id", "change password", "disable", "remove", "revoke account", "revoke all", "purge"];

    [Theory(Timeout = TestTimeout)]
    [MemberData(nameof(Revocations))]
    public async Task Every_revoking_write_moves_the_revocation_epoch(string revocation)
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var token = await IssueAsync(store, alice, "10.0.0.1", expiresAt: Now + 10);
        var before = store.ObserveRevocationEpoch();
        Assert.NotNull(before);

        Task task = revocation switch
        {
            "delete token" => store.DeleteTokenAsync(token.Digest, Cancel).AsTask(),
            "change password" => store.ChangePasswordAsync(alice.Id, "new-hash", null, Cancel).AsTask(),
            "disable" => store.SetAccountEnabledAsync("alice", false, Cancel).AsTask(),
            "remove" => store.RemoveAccountAsync("alice", Cancel).AsTask(),
            "revoke by id" => store.RevokeTokenByIdAsync(token.Digest, token.Digest, Cancel).AsTask(),
            "revoke account" => store.RevokeTokensAsync("alice", Cancel).AsTask(),
            "revoke all" => store.RevokeTokensAsync(null, Cancel).AsTask(),
            _ => store.PurgeExpiredTokensAsync(Now + 10, 10, Cancel).AsTask(),
        };
        await task;

        var watch = Stopwatch.StartNew();
        long? after;
        while ((after = store.ObserveRevocationEpoch()) == before && watch.Elapsed < EpochLag)
        {
            await Task.Delay(10, Cancel);
        }

        Assert.NotNull(after);
        Assert.NotEqual(before, after);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_revocation_by_another_store_on_the_same_database_moves_this_stores_epoch()
    {
        await using var store = await CreateStoreAsync();
        await using var other = await OpenSecondStoreAsync(store);
        if (other is null)
        {
            return;
        }

        var alice = await NewAccountAsync(store, "alice");
        var token = await IssueAsync(store, alice, "10.0.0.1");
        var before = store.ObserveRevocationEpoch();

        Assert.True(await other.DeleteTokenAsync(token.Digest, Cancel));

        var watch = Stopwatch.StartNew();
        while (store.ObserveRevocationEpoch() == before && watch.Elapsed < EpochLag)
        {
            await Task.Delay(10, Cancel);
        }

        Assert.NotEqual(before, store.ObserveRevocationEpoch());
    }

    /// <summary>A second store on the same database as <paramref name="first"/> (another process, in production). Null when the
    /// backend cannot have two; then the cross-store fact has nothing to check.</summary>
    protected abstract Task<ITokenGateStore?> OpenSecondStoreAsync(ITokenGateStore first);

    [Fact(Timeout = TestTimeout)]
    public async Task The_active_token_limit_holds_over_many_issues_and_frees_a_place_when_a_token_is_deleted_or_expires()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var issued = new List<Issued>();
        for (var i = 0; i < 5; i++)
        {
            issued.Add(await IssueAsync(store, alice, $"10.0.0.{i}", expiresAt: i == 0 ? Now + 10 : Now + Lifetime, maxActiveTokens: 5));
        }

        var full = await store.GetOrAddTokenAsync(Request(alice, "10.0.1.1", maxActiveTokens: 5), Cancel);
        Assert.True(await store.DeleteTokenAsync(issued[1].Digest, Cancel));
        var afterDelete = await store.GetOrAddTokenAsync(Request(alice, "10.0.1.2", maxActiveTokens: 5), Cancel);
        var fullAgain = await store.GetOrAddTokenAsync(Request(alice, "10.0.1.3", maxActiveTokens: 5), Cancel);
        var afterExpiry = await store.GetOrAddTokenAsync(Request(alice, "10.0.1.4", now: Now + 10, maxActiveTokens: 5), Cancel);

        Assert.Equal(TokenIssueStatus.TooManyTokens, full.Status);
        Assert.Equal(TokenIssueStatus.Added, afterDelete.Status);
        Assert.Equal(TokenIssueStatus.TooManyTokens, fullAgain.Status);
        Assert.Equal(TokenIssueStatus.Added, afterExpiry.Status);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task An_account_can_be_made_a_resource_server_and_back_which_moves_the_epoch()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        Assert.False(alice.CanIntrospect);
        var before = store.ObserveRevocationEpoch();

        Assert.True(await store.SetAccountIntrospectionAsync("alice", true, Cancel));
        var allowed = await store.FindAccountAsync("alice", Cancel);
        var listed = Assert.Single(await store.ListAccountsAsync(Now, Cancel));
        Assert.True(await store.SetAccountIntrospectionAsync("alice", false, Cancel));
        var denied = await store.FindAccountAsync("alice", Cancel);

        Assert.True(allowed!.CanIntrospect);
        Assert.True(listed.CanIntrospect);
        Assert.False(denied!.CanIntrospect);
        Assert.False(await store.SetAccountIntrospectionAsync("nobody", true, Cancel));
        var watch = Stopwatch.StartNew();
        while (store.ObserveRevocationEpoch() == before && watch.Elapsed < EpochLag)
        {
            await Task.Delay(10, Cancel);
        }

        Assert.NotEqual(before, store.ObserveRevocationEpoch());
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Audit_entries_are_listed_newest_first_filtered_by_account_and_time_and_limited()
    {
        await using var store = await CreateStoreAsync();
        await store.AppendAuditAsync(
            [
                new AuditEntry(Now - 30, "alice", "10.0.0.1", AuditActions.Get, AuditActions.Issued, "0011223344556677"),
                new AuditEntry(Now - 20, null, "10.0.0.9", AuditActions.Get, AuditActions.AuthenticationFailure),
                new AuditEntry(Now - 10, "alice", AuditActions.OperatorClient, AuditActions.AccountDisable, AuditActions.Done),
                new AuditEntry(Now, "bob", "10.0.0.2", AuditActions.Delete, AuditActions.Deleted, "8899aabbccddeeff"),
            ],
            Cancel);

        var all = await store.ListAuditAsync(null, null, 100, Cancel);
        var alices = await store.ListAuditAsync("alice", null, 100, Cancel);
        var recent = await store.ListAuditAsync(null, Now - 10, 100, Cancel);
        var newest = await store.ListAuditAsync(null, null, 1, Cancel);

        Assert.Equal([Now, Now - 10, Now - 20, Now - 30], all.Select(e => e.At));
        Assert.Equal(new AuditEntry(Now - 30, "alice", "10.0.0.1", AuditActions.Get, AuditActions.Issued, "0011223344556677"), all[^1]);
        Assert.Null(all[2].Account);
        Assert.Null(all[2].TokenId);
        Assert.Equal([AuditActions.AccountDisable, AuditActions.Get], alices.Select(e => e.Action));
        Assert.Equal(2, recent.Count);
        Assert.Equal("bob", Assert.Single(newest).Account);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Audit_purge_deletes_only_entries_older_than_the_cutoff_in_batches()
    {
        await using var store = await CreateStoreAsync();
        var entries = Enumerable.Range(0, 25).Select(i => new AuditEntry(Now - 1000 - i, "alice", "10.0.0.1", AuditActions.Get, AuditActions.Issued))
            .Append(new AuditEntry(Now, "alice", "10.0.0.1", AuditActions.Get, AuditActions.Issued))
            .ToList();
        await store.AppendAuditAsync(entries, Cancel);

        var batches = new List<int>();
        int deleted;
        while ((deleted = await store.PurgeAuditAsync(Now - 500, 10, Cancel)) > 0)
        {
            batches.Add(deleted);
        }

        Assert.Equal([10, 10, 5], batches);
        Assert.Equal(Now, Assert.Single(await store.ListAuditAsync(null, null, 100, Cancel)).At);
    }
}
