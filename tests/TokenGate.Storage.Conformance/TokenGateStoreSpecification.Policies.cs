using System.Diagnostics;
using TokenGate.Accounts;
using Xunit;

namespace TokenGate.Storage.Conformance;

/// <summary>Per-account policies (issue 17): stored, read back with the account and its tokens, followed through the epoch.</summary>
public abstract partial class TokenGateStoreSpecification
{
    private static AccountPolicy Policy(string? networks, TimeSpan? lifetime = null, int? maxTokens = null) =>
        new(networks is null ? null : AllowedNetworks.TryParse(networks, out var parsed) ? parsed : throw new ArgumentException(networks), lifetime, maxTokens);

    [Fact(Timeout = TestTimeout)]
    public async Task A_new_account_has_the_default_policy()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");

        Assert.True(alice.Policy.IsDefault);
        Assert.True((await store.ListAccountsAsync(Now, Cancel)).Single().Policy.IsDefault);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task An_accounts_policy_is_stored_and_read_back_with_the_account_its_summary_and_its_tokens()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        await NewAccountAsync(store, "bob");
        var token = await IssueAsync(store, alice, "10.1.2.3");

        Assert.True(await store.SetAccountPolicyAsync("alice", Policy("10.0.0.0/8, 2001:db8::/32", TimeSpan.FromHours(1), 7), Cancel));
        Assert.False(await store.SetAccountPolicyAsync("nobody", Policy("10.0.0.0/8"), Cancel));

        var found = await store.FindAccountAsync("alice", Cancel);
        Assert.Equal("10.0.0.0/8,2001:db8::/32", found!.Policy.AllowedNetworks!.Text);
        Assert.Equal(TimeSpan.FromHours(1), found.Policy.TokenLifetime);
        Assert.Equal(7, found.Policy.MaxTokens);
        var summaries = await store.ListAccountsAsync(Now, Cancel);
        Assert.Equal(found.Policy, summaries.Single(a => a.Name == "alice").Policy with { AllowedNetworks = found.Policy.AllowedNetworks });
        Assert.Equal("10.0.0.0/8,2001:db8::/32", summaries.Single(a => a.Name == "alice").Policy.AllowedNetworks!.Text);
        Assert.True(summaries.Single(a => a.Name == "bob").Policy.IsDefault);
        Assert.Equal("10.0.0.0/8,2001:db8::/32", (await store.FindTokenAsync(token.Digest, Cancel))!.AllowedNetworks);

        Assert.True(await store.SetAccountPolicyAsync("alice", AccountPolicy.Default, Cancel));
        Assert.True((await store.FindAccountAsync("alice", Cancel))!.Policy.IsDefault);
        Assert.Null((await store.FindTokenAsync(token.Digest, Cancel))!.AllowedNetworks);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Changing_a_policy_moves_the_revocation_epoch()
    {
        await using var store = await CreateStoreAsync();
        await NewAccountAsync(store, "alice");
        var before = store.ObserveRevocationEpoch();
        Assert.NotNull(before);

        await store.SetAccountPolicyAsync("alice", Policy("192.168.0.0/16"), Cancel);

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
    public async Task An_existing_token_that_expires_after_the_latest_reusable_expiry_is_not_handed_back()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var longLived = await IssueAsync(store, alice, "10.0.0.1", expiresAt: Now + 43_200);

        // The account's lifetime was shortened to an hour: the 12-hour token is neither found nor returned; a new one is added,
        // and from then on that one is the current token.
        Assert.Null(await store.FindCurrentTokenAsync(alice.Id, "10.0.0.1", Now, Now + 3_600 + TokenIssueRequest.ReuseToleranceSeconds, Cancel));
        var shortRequest = Request(alice, "10.0.0.1", expiresAt: Now + 3_600);
        var added = await store.GetOrAddTokenAsync(shortRequest, Cancel);
        Assert.Equal(TokenIssueStatus.Added, added.Status);
        Assert.NotEqual(longLived.Digest, added.Digest);

        var again = await store.GetOrAddTokenAsync(Request(alice, "10.0.0.1", now: Now + 1, expiresAt: Now + 3_601), Cancel);
        Assert.Equal(TokenIssueStatus.Existing, again.Status);
        Assert.Equal(shortRequest.Digest, again.Digest);
        var current = await store.FindCurrentTokenAsync(alice.Id, "10.0.0.1", Now + 1, Now + 3_601 + TokenIssueRequest.ReuseToleranceSeconds, Cancel);
        Assert.Equal(shortRequest.Digest, current!.Digest);
    }
}
