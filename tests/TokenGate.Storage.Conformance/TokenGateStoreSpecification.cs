using System.Security.Cryptography;
using TokenGate.Accounts;
using Xunit;

namespace TokenGate.Storage.Conformance;

/// <summary>
/// Every fact about an <see cref="ITokenGateStore"/>, whatever its backend. A backend's test class subclasses this and only says
/// how to create an initialized, empty store; a backend is done when it passes all of it. Nothing here may assume a backend.
/// </summary>
public abstract partial class TokenGateStoreSpecification
{
    /// <summary>2026-01-01T00:00:00Z, in Unix seconds: the "now" of every test unless it says otherwise.</summary>
    protected const long Now = 1_767_225_600;

    protected const long Lifetime = 43_200;

    /// <summary>A store that deadlocks fails its test instead of hanging the run.</summary>
    protected const int TestTimeout = 60_000;

    private const int NoLimit = 1_000;

    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>A new, initialized store over an empty database, owned (and disposed) by the caller.</summary>
    protected abstract Task<ITokenGateStore> CreateStoreAsync();

    // Accounts

    [Fact(Timeout = TestTimeout)]
    public async Task Create_then_find_returns_every_field_of_the_account()
    {
        await using var store = await CreateStoreAsync();

        var created = await store.CreateAccountAsync("alice", "hash-of-alice", Now - 60, Cancel);
        var found = await store.FindAccountAsync("alice", Cancel);

        Assert.True(created);
        Assert.NotNull(found);
        Assert.True(found.Id > 0);
        Assert.Equal("alice", found.Name);
        Assert.Equal("hash-of-alice", found.PasswordHash);
        Assert.True(found.Enabled);
        Assert.Equal(Now - 60, found.CreatedAt);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Find_account_returns_null_for_an_unknown_name()
    {
        await using var store = await CreateStoreAsync();
        await store.CreateAccountAsync("alice", "hash-of-alice", Now, Cancel);

        Assert.Null(await store.FindAccountAsync("bob", Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Create_with_a_taken_name_returns_false_and_leaves_the_account_unchanged()
    {
        await using var store = await CreateStoreAsync();
        await store.CreateAccountAsync("alice", "first-hash", Now, Cancel);

        var created = await store.CreateAccountAsync("alice", "second-hash", Now + 1, Cancel);

        Assert.False(created);
        var found = await store.FindAccountAsync("alice", Cancel);
        Assert.Equal("first-hash", found!.PasswordHash);
        Assert.Equal(Now, found.CreatedAt);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_new_account_name_must_differ_from_every_existing_one_ignoring_case_and_lookups_stay_exact()
    {
        await using var store = await CreateStoreAsync();

        Assert.True(await store.CreateAccountAsync("Alice", "hash-upper", Now, Cancel));
        Assert.False(await store.CreateAccountAsync("alice", "hash-lower", Now, Cancel));
        Assert.False(await store.CreateAccountAsync("ALICE", "hash-lower", Now, Cancel));
        Assert.False(await store.CreateAccountAsync("Alice", "hash-lower", Now, Cancel));
        Assert.True(await store.CreateAccountAsync("alice2", "hash-other", Now, Cancel));
        Assert.True(await store.CreateAccountAsync("a.lice", "hash-other", Now, Cancel));

        Assert.Equal("hash-upper", (await store.FindAccountAsync("Alice", Cancel))!.PasswordHash);
        Assert.Null(await store.FindAccountAsync("alice", Cancel));
        Assert.Null(await store.FindAccountAsync("ALICE", Cancel));
        Assert.Equal(["Alice", "a.lice", "alice2"], (await store.ListAccountsAsync(Now, Cancel)).Select(a => a.Name).Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Concurrent_adds_of_names_that_differ_only_in_case_create_exactly_one_account()
    {
        await using var store = await CreateStoreAsync();
        string[] names = ["bob", "Bob", "BOB", "bOb", "boB", "BOb", "bOB", "BoB"];

        var created = await Task.WhenAll(names.Select(name => Task.Run(async () => await store.CreateAccountAsync(name, "hash-" + name, Now, Cancel))));

        Assert.Equal(1, created.Count(c => c));
        var account = Assert.Single(await store.ListAccountsAsync(Now, Cancel));
        Assert.Equal(names[Array.IndexOf(created, true)], account.Name);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task List_accounts_returns_every_account_sorted_by_name_with_its_tokens_unexpired_at_the_given_time()
    {
        await using var store = await CreateStoreAsync();
        var carol = await NewAccountAsync(store, "carol", createdAt: Now - 3);
        var alice = await NewAccountAsync(store, "alice", createdAt: Now - 2);
        await NewAccountAsync(store, "Bob", createdAt: Now - 1);
        await store.SetAccountEnabledAsync("Bob", enabled: false, Cancel);
        await IssueAsync(store, alice, "10.0.0.1", expiresAt: Now + 100);
        await IssueAsync(store, alice, "10.0.0.2", expiresAt: Now + 200);
        await IssueAsync(store, alice, "10.0.0.3", issuedAt: Now - 100, expiresAt: Now);
        await IssueAsync(store, carol, "10.0.0.1", expiresAt: Now + 100);

        var atNow = await store.ListAccountsAsync(Now, Cancel);
        var later = await store.ListAccountsAsync(Now + 100, Cancel);

        // Names compare exactly, so they sort ordinally: upper case before lower case.
        Assert.Equal(
            [
                new AccountSummary("Bob", Enabled: false, CreatedAt: Now - 1, ActiveTokens: 0),
                new AccountSummary("alice", Enabled: true, CreatedAt: Now - 2, ActiveTokens: 2),
                new AccountSummary("carol", Enabled: true, CreatedAt: Now - 3, ActiveTokens: 1),
            ],
            atNow);
        Assert.Equal([0, 1, 0], later.Select(a => a.ActiveTokens));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task List_accounts_of_an_empty_store_is_empty()
    {
        await using var store = await CreateStoreAsync();

        Assert.Empty(await store.ListAccountsAsync(Now, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Change_password_sets_the_hash_changes_the_stamp_and_deletes_every_other_token_of_the_account()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        var kept = await IssueAsync(store, alice, "10.0.0.1");
        var other = await IssueAsync(store, alice, "10.0.0.2");
        var expired = await IssueAsync(store, alice, "10.0.0.3", issuedAt: Now - 100, expiresAt: Now - 1);
        var bobs = await IssueAsync(store, bob, "10.0.0.1");

        var changed = await store.ChangePasswordAsync(alice.Id, "new-hash", kept.Digest, Cancel);

        Assert.True(changed);
        var after = await store.FindAccountAsync("alice", Cancel);
        Assert.Equal("new-hash", after!.PasswordHash);
        Assert.True(after.CredentialStamp > alice.CredentialStamp);
        Assert.NotNull(await store.FindTokenAsync(kept.Digest, Cancel));
        Assert.Null(await store.FindTokenAsync(other.Digest, Cancel));
        Assert.Null(await store.FindTokenAsync(expired.Digest, Cancel));
        Assert.NotNull(await store.FindTokenAsync(bobs.Digest, Cancel));
        Assert.Equal(bob, await store.FindAccountAsync("bob", Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Change_password_without_a_token_to_keep_deletes_every_token_of_the_account_only()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        var first = await IssueAsync(store, alice, "10.0.0.1");
        var second = await IssueAsync(store, alice, "10.0.0.2");
        var bobs = await IssueAsync(store, bob, "10.0.0.1");

        var changed = await store.ChangePasswordAsync(alice.Id, "new-hash", keepTokenDigest: null, Cancel);

        Assert.True(changed);
        Assert.Equal("new-hash", (await store.FindAccountAsync("alice", Cancel))!.PasswordHash);
        Assert.Null(await store.FindTokenAsync(first.Digest, Cancel));
        Assert.Null(await store.FindTokenAsync(second.Digest, Cancel));
        Assert.NotNull(await store.FindTokenAsync(bobs.Digest, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Change_password_keeps_no_token_of_another_account_even_when_asked_to()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        var alices = await IssueAsync(store, alice, "10.0.0.1");
        var bobs = await IssueAsync(store, bob, "10.0.0.1");

        await store.ChangePasswordAsync(alice.Id, "new-hash", bobs.Digest, Cancel);

        Assert.Null(await store.FindTokenAsync(alices.Digest, Cancel));
        Assert.NotNull(await store.FindTokenAsync(bobs.Digest, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Change_password_of_an_unknown_account_returns_false_and_changes_nothing()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var token = await IssueAsync(store, alice, "10.0.0.1");

        var changed = await store.ChangePasswordAsync(alice.Id + 1_000, "new-hash", keepTokenDigest: null, Cancel);

        Assert.False(changed);
        Assert.Equal(alice, await store.FindAccountAsync("alice", Cancel));
        Assert.NotNull(await store.FindTokenAsync(token.Digest, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Rehash_replaces_the_hash_only_while_it_is_still_the_current_one_and_keeps_the_stamp()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice", hash: "weak-hash");
        var token = await IssueAsync(store, alice, "10.0.0.1");

        await store.RehashPasswordAsync(alice.Id, "not-the-current-hash", "other-hash", Cancel);
        var afterStale = await store.FindAccountAsync("alice", Cancel);
        await store.RehashPasswordAsync(alice.Id, "weak-hash", "strong-hash", Cancel);
        var afterCurrent = await store.FindAccountAsync("alice", Cancel);

        Assert.Equal(alice, afterStale);
        Assert.Equal(alice with { PasswordHash = "strong-hash" }, afterCurrent);
        Assert.NotNull(await store.FindTokenAsync(token.Digest, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Rehash_of_an_unknown_account_changes_nothing()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice", hash: "weak-hash");

        await store.RehashPasswordAsync(alice.Id + 1_000, "weak-hash", "strong-hash", Cancel);

        Assert.Equal(alice, await store.FindAccountAsync("alice", Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Disabling_an_account_changes_its_stamp_and_deletes_its_tokens_only()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        var alices = await IssueAsync(store, alice, "10.0.0.1");
        var bobs = await IssueAsync(store, bob, "10.0.0.1");

        var disabled = await store.SetAccountEnabledAsync("alice", enabled: false, Cancel);

        Assert.True(disabled);
        var after = await store.FindAccountAsync("alice", Cancel);
        Assert.False(after!.Enabled);
        Assert.True(after.CredentialStamp > alice.CredentialStamp);
        Assert.Equal(alice.PasswordHash, after.PasswordHash);
        Assert.Null(await store.FindTokenAsync(alices.Digest, Cancel));
        Assert.NotNull(await store.FindTokenAsync(bobs.Digest, Cancel));
        Assert.Equal(bob, await store.FindAccountAsync("bob", Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Enabling_a_disabled_account_enables_it_again_for_new_tokens()
    {
        await using var store = await CreateStoreAsync();
        await NewAccountAsync(store, "alice");
        await store.SetAccountEnabledAsync("alice", enabled: false, Cancel);

        var enabled = await store.SetAccountEnabledAsync("alice", enabled: true, Cancel);

        Assert.True(enabled);
        var after = await store.FindAccountAsync("alice", Cancel);
        Assert.True(after!.Enabled);
        var result = await store.GetOrAddTokenAsync(Request(after, "10.0.0.1"), Cancel);
        Assert.Equal(TokenIssueStatus.Added, result.Status);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Enabling_or_disabling_an_unknown_account_returns_false()
    {
        await using var store = await CreateStoreAsync();
        await NewAccountAsync(store, "alice");

        Assert.False(await store.SetAccountEnabledAsync("bob", enabled: false, Cancel));
        Assert.False(await store.SetAccountEnabledAsync("bob", enabled: true, Cancel));
        Assert.False(await store.SetAccountEnabledAsync("Alice", enabled: false, Cancel));
        Assert.True((await store.FindAccountAsync("alice", Cancel))!.Enabled);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Remove_deletes_the_account_and_its_tokens_only()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        var alices = await IssueAsync(store, alice, "10.0.0.1");
        var bobs = await IssueAsync(store, bob, "10.0.0.1");

        var removed = await store.RemoveAccountAsync("alice", Cancel);

        Assert.True(removed);
        Assert.Null(await store.FindAccountAsync("alice", Cancel));
        Assert.Null(await store.FindTokenAsync(alices.Digest, Cancel));
        Assert.NotNull(await store.FindTokenAsync(bobs.Digest, Cancel));
        Assert.Equal(["bob"], (await store.ListAccountsAsync(Now, Cancel)).Select(a => a.Name));
        Assert.Equal([IdOf(bobs.Digest)], (await store.ListTokensAsync(null, 100, Cancel)).Select(t => t.Id));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Remove_of_an_unknown_account_returns_false()
    {
        await using var store = await CreateStoreAsync();
        await NewAccountAsync(store, "alice");

        Assert.False(await store.RemoveAccountAsync("bob", Cancel));
        Assert.NotNull(await store.FindAccountAsync("alice", Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_removed_account_id_is_never_given_to_a_later_account()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        await store.RemoveAccountAsync("bob", Cancel);
        await store.RemoveAccountAsync("alice", Cancel);

        var carol = await NewAccountAsync(store, "carol");
        var bobAgain = await NewAccountAsync(store, "bob");

        Assert.DoesNotContain(carol.Id, new[] { alice.Id, bob.Id });
        Assert.DoesNotContain(bobAgain.Id, new[] { alice.Id, bob.Id, carol.Id });

        // A token issued in flight for the removed bob must not land on the new one.
        var stale = await store.GetOrAddTokenAsync(Request(bob, "10.0.0.1"), Cancel);
        Assert.Equal(TokenIssueStatus.CredentialsChanged, stale.Status);
    }

    // Tokens: finding

    [Fact(Timeout = TestTimeout)]
    public async Task Find_token_returns_its_digest_account_and_times()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var issued = await IssueAsync(store, alice, "10.0.0.1,10.0.0.2", issuedAt: Now - 5, expiresAt: Now + Lifetime);

        var found = await store.FindTokenAsync(issued.Digest, Cancel);

        Assert.NotNull(found);
        Assert.Equal(issued.Digest, found.Digest);
        Assert.Equal(alice.Id, found.AccountId);
        Assert.Equal("alice", found.AccountName);
        Assert.True(found.AccountEnabled);
        Assert.Equal("10.0.0.1,10.0.0.2", found.AddressKey);
        Assert.Equal(Now - 5, found.IssuedAt);
        Assert.Equal(Now + Lifetime, found.ExpiresAt);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Find_token_returns_an_expired_token_too()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var issued = await IssueAsync(store, alice, "10.0.0.1", issuedAt: Now - 100, expiresAt: Now - 10);

        var found = await store.FindTokenAsync(issued.Digest, Cancel);

        Assert.Equal(Now - 10, found!.ExpiresAt);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Find_token_returns_null_for_an_unknown_digest()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        await IssueAsync(store, alice, "10.0.0.1");

        Assert.Null(await store.FindTokenAsync(NewDigest(), Cancel));
    }

    // Tokens: issuing

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_stores_the_first_candidate()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var request = Request(alice, "10.0.0.1");

        var result = await store.GetOrAddTokenAsync(request, Cancel);

        Assert.Equal(TokenIssueStatus.Added, result.Status);
        Assert.Equal(request.Digest, result.Digest);
        Assert.Equal(request.SealedToken, result.SealedToken);
        Assert.Equal(request.ExpiresAt, result.ExpiresAt);
        var found = await store.FindTokenAsync(request.Digest, Cancel);
        Assert.Equal(request.Digest, found!.Digest);
        Assert.Equal((alice.Id, "10.0.0.1", Now, Now + Lifetime), (found.AccountId, found.AddressKey, found.IssuedAt, found.ExpiresAt));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_returns_the_unexpired_token_of_the_same_account_and_address_key_instead_of_the_candidate()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var first = Request(alice, "10.0.0.1,10.0.0.2");
        await store.GetOrAddTokenAsync(first, Cancel);
        var second = Request(alice, "10.0.0.1,10.0.0.2", now: Now + 60, expiresAt: Now + 60 + Lifetime);

        var result = await store.GetOrAddTokenAsync(second, Cancel);

        Assert.Equal(TokenIssueStatus.Existing, result.Status);
        Assert.Equal(first.Digest, result.Digest);
        Assert.Equal(first.SealedToken, result.SealedToken);
        Assert.Equal(first.ExpiresAt, result.ExpiresAt);
        Assert.Null(await store.FindTokenAsync(second.Digest, Cancel));
        Assert.Equal(first.ExpiresAt, (await store.FindTokenAsync(first.Digest, Cancel))!.ExpiresAt);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_stores_a_new_token_for_a_different_address_key()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var first = await IssueAsync(store, alice, "10.0.0.1");
        var request = Request(alice, "10.0.0.1,10.0.0.2");

        var result = await store.GetOrAddTokenAsync(request, Cancel);

        Assert.Equal(TokenIssueStatus.Added, result.Status);
        Assert.Equal(request.Digest, result.Digest);
        Assert.NotNull(await store.FindTokenAsync(first.Digest, Cancel));
        Assert.NotNull(await store.FindTokenAsync(request.Digest, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_does_not_return_another_accounts_token_for_the_same_address_key()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        await IssueAsync(store, alice, "10.0.0.1");
        var request = Request(bob, "10.0.0.1");

        var result = await store.GetOrAddTokenAsync(request, Cancel);

        Assert.Equal(TokenIssueStatus.Added, result.Status);
        Assert.Equal(request.Digest, result.Digest);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_stores_a_new_token_once_the_existing_one_has_expired()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var first = await IssueAsync(store, alice, "10.0.0.1", issuedAt: Now, expiresAt: Now + 100);

        var justBefore = await store.GetOrAddTokenAsync(Request(alice, "10.0.0.1", now: Now + 99), Cancel);
        var atExpiry = Request(alice, "10.0.0.1", now: Now + 100, expiresAt: Now + 100 + Lifetime);
        var atExpiryResult = await store.GetOrAddTokenAsync(atExpiry, Cancel);

        Assert.Equal(TokenIssueStatus.Existing, justBefore.Status);
        Assert.Equal(first.Digest, justBefore.Digest);
        Assert.Equal(TokenIssueStatus.Added, atExpiryResult.Status);
        Assert.Equal(atExpiry.Digest, atExpiryResult.Digest);
        Assert.Equal(Now + 100 + Lifetime, atExpiryResult.ExpiresAt);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_refuses_when_the_credential_stamp_has_changed()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        await store.ChangePasswordAsync(alice.Id, "new-hash", keepTokenDigest: null, Cancel);
        var stale = Request(alice, "10.0.0.1");

        var result = await store.GetOrAddTokenAsync(stale, Cancel);

        Assert.Equal(TokenIssueStatus.CredentialsChanged, result.Status);
        Assert.Null(result.Digest);
        Assert.Null(await store.FindTokenAsync(stale.Digest, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_refuses_a_stale_stamp_even_when_a_matching_token_exists()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var kept = await IssueAsync(store, alice, "10.0.0.1");
        await store.ChangePasswordAsync(alice.Id, "new-hash", kept.Digest, Cancel);

        var result = await store.GetOrAddTokenAsync(Request(alice, "10.0.0.1"), Cancel);

        Assert.Equal(TokenIssueStatus.CredentialsChanged, result.Status);
        Assert.Null(result.SealedToken);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_refuses_for_a_disabled_account_even_with_its_current_stamp()
    {
        await using var store = await CreateStoreAsync();
        await NewAccountAsync(store, "alice");
        await store.SetAccountEnabledAsync("alice", enabled: false, Cancel);
        var disabled = await store.FindAccountAsync("alice", Cancel);
        var request = Request(disabled!, "10.0.0.1");

        var result = await store.GetOrAddTokenAsync(request, Cancel);

        Assert.Equal(TokenIssueStatus.CredentialsChanged, result.Status);
        Assert.Null(await store.FindTokenAsync(request.Digest, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_refuses_for_a_removed_account()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        await store.RemoveAccountAsync("alice", Cancel);
        var request = Request(alice, "10.0.0.1");

        var result = await store.GetOrAddTokenAsync(request, Cancel);

        Assert.Equal(TokenIssueStatus.CredentialsChanged, result.Status);
        Assert.Null(await store.FindTokenAsync(request.Digest, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_refuses_when_the_account_holds_the_most_unexpired_tokens_it_may()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        await IssueAsync(store, alice, "10.0.0.1", maxActiveTokens: 3);
        await IssueAsync(store, alice, "10.0.0.2", maxActiveTokens: 3);
        await IssueAsync(store, alice, "10.0.0.3", maxActiveTokens: 3);
        var fourth = Request(alice, "10.0.0.4", maxActiveTokens: 3);

        var refused = await store.GetOrAddTokenAsync(fourth, Cancel);
        var bobs = await store.GetOrAddTokenAsync(Request(bob, "10.0.0.4", maxActiveTokens: 3), Cancel);

        Assert.Equal(TokenIssueStatus.TooManyTokens, refused.Status);
        Assert.Null(refused.Digest);
        Assert.Null(await store.FindTokenAsync(fourth.Digest, Cancel));
        Assert.Equal(TokenIssueStatus.Added, bobs.Status);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_does_not_count_expired_tokens_against_the_limit()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        await IssueAsync(store, alice, "10.0.0.1", issuedAt: Now - 200, expiresAt: Now - 100, maxActiveTokens: 2);
        await IssueAsync(store, alice, "10.0.0.2", issuedAt: Now - 200, expiresAt: Now, maxActiveTokens: 2);

        var third = await store.GetOrAddTokenAsync(Request(alice, "10.0.0.3", maxActiveTokens: 2), Cancel);
        var fourth = await store.GetOrAddTokenAsync(Request(alice, "10.0.0.4", maxActiveTokens: 2), Cancel);
        var fifth = await store.GetOrAddTokenAsync(Request(alice, "10.0.0.5", maxActiveTokens: 2), Cancel);

        Assert.Equal(TokenIssueStatus.Added, third.Status);
        Assert.Equal(TokenIssueStatus.Added, fourth.Status);
        Assert.Equal(TokenIssueStatus.TooManyTokens, fifth.Status);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_at_the_limit_still_returns_the_existing_token_for_the_same_address_key()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var first = await IssueAsync(store, alice, "10.0.0.1", maxActiveTokens: 2);
        await IssueAsync(store, alice, "10.0.0.2", maxActiveTokens: 2);

        var result = await store.GetOrAddTokenAsync(Request(alice, "10.0.0.1", maxActiveTokens: 2), Cancel);

        Assert.Equal(TokenIssueStatus.Existing, result.Status);
        Assert.Equal(first.Digest, result.Digest);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_with_always_add_stores_the_candidate_even_when_a_token_matches()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var first = await IssueAsync(store, alice, "10.0.0.1");
        var request = Request(alice, "10.0.0.1", alwaysAdd: true);

        var result = await store.GetOrAddTokenAsync(request, Cancel);

        Assert.Equal(TokenIssueStatus.Added, result.Status);
        Assert.Equal(request.Digest, result.Digest);
        Assert.Equal(request.SealedToken, result.SealedToken);
        Assert.NotNull(await store.FindTokenAsync(first.Digest, Cancel));
        Assert.NotNull(await store.FindTokenAsync(request.Digest, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Get_or_add_with_always_add_still_refuses_a_stale_stamp_and_respects_the_limit()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        await IssueAsync(store, alice, "10.0.0.1", maxActiveTokens: 1);

        var atLimit = await store.GetOrAddTokenAsync(Request(alice, "10.0.0.1", maxActiveTokens: 1, alwaysAdd: true), Cancel);
        await store.ChangePasswordAsync(alice.Id, "new-hash", keepTokenDigest: null, Cancel);
        var stale = await store.GetOrAddTokenAsync(Request(alice, "10.0.0.1", alwaysAdd: true), Cancel);

        Assert.Equal(TokenIssueStatus.TooManyTokens, atLimit.Status);
        Assert.Equal(TokenIssueStatus.CredentialsChanged, stale.Status);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Concurrent_get_or_add_for_one_account_and_address_key_returns_one_token()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var requests = Enumerable.Range(0, 50).Select(_ => Request(alice, "10.0.0.1,10.0.0.2")).ToList();

        var results = await Task.WhenAll(requests.Select(r => Task.Run(() => store.GetOrAddTokenAsync(r, Cancel).AsTask(), Cancel)));

        var added = Assert.Single(results, r => r.Status == TokenIssueStatus.Added);
        Assert.All(results, r => Assert.Contains(r.Status, new[] { TokenIssueStatus.Added, TokenIssueStatus.Existing }));
        Assert.All(results, r => Assert.Equal(added.Digest, r.Digest));
        Assert.All(results, r => Assert.Equal(added.SealedToken, r.SealedToken));
        Assert.Contains(requests, r => r.Digest.AsSpan().SequenceEqual(added.Digest));
        Assert.Single(await store.ListTokensAsync("alice", 100, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Concurrent_get_or_add_for_different_address_keys_stores_a_token_for_each()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var requests = Enumerable.Range(0, 50).Select(i => Request(alice, $"10.0.1.{i}")).ToList();

        var results = await Task.WhenAll(requests.Select(r => Task.Run(() => store.GetOrAddTokenAsync(r, Cancel).AsTask(), Cancel)));

        Assert.All(results, r => Assert.Equal(TokenIssueStatus.Added, r.Status));
        Assert.Equal(requests.Select(r => r.Digest), results.Select(r => r.Digest));
        Assert.Equal(50, (await store.ListTokensAsync("alice", 100, Cancel)).Count);
        Assert.Equal(50, (await store.ListAccountsAsync(Now, Cancel)).Single().ActiveTokens);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task An_issue_with_audit_writes_its_entry_with_the_outcome_and_only_for_added_or_refused()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        IssueAudit Who(int i) => new("alice", $"192.0.2.{i}", AuditActions.Get);

        // Concurrent: 30 address sets, a third of them asked for twice (the second gets the first's token), a limit of 20; and a
        // request whose stamp is stale and one without audit, which write nothing.
        var requests = Enumerable.Range(0, 40)
            .Select(i => Request(alice, $"10.0.2.{(i < 30 ? i : i - 30)}", maxActiveTokens: 20) with { Audit = Who(i) })
            .Append(Request(alice, "10.0.3.1") with { CredentialStamp = alice.CredentialStamp + 1, Audit = Who(98) })
            .Append(Request(bob, "10.0.3.2"))
            .ToList();
        var results = await Task.WhenAll(requests.Select(r => Task.Run(() => store.GetOrAddTokenAsync(r, Cancel).AsTask(), Cancel)));

        var entries = await store.ListAuditAsync(null, 0, 1_000, Cancel);
        var expected = requests.Zip(results)
            .Select(pair => pair.First.AuditEntryFor(pair.Second.Status))
            .OfType<AuditEntry>()
            .Select(e => (e.Account, e.Client, e.Action, e.Outcome, e.TokenId, e.At))
            .Order()
            .ToList();
        Assert.Equal(21, results.Count(r => r.Status == TokenIssueStatus.Added)); // bob's too
        Assert.InRange(results.Count(r => r.Status == TokenIssueStatus.TooManyTokens), 10, 20);
        Assert.Equal(TokenIssueStatus.CredentialsChanged, results[40].Status);
        Assert.Equal(results.Take(40).Count(r => r.Status is TokenIssueStatus.Added or TokenIssueStatus.TooManyTokens), expected.Count);
        Assert.Equal(expected, entries.Select(e => (e.Account, e.Client, e.Action, e.Outcome, e.TokenId, e.At)).Order().ToList());
        Assert.All(
            requests.Zip(results).Where(pair => pair.First.Audit is not null && pair.Second.Status == TokenIssueStatus.Added),
            pair => Assert.Contains(entries, e => e.Outcome == AuditActions.Issued && e.TokenId == TokenGate.Tokens.TokenValue.IdOf(pair.First.Digest) && e.Client == pair.First.Audit?.Client));
    }

    // Tokens: deleting, listing, purging

    [Fact(Timeout = TestTimeout)]
    public async Task Delete_token_returns_true_then_false()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var token = await IssueAsync(store, alice, "10.0.0.1");
        var other = await IssueAsync(store, alice, "10.0.0.2");

        var first = await store.DeleteTokenAsync(token.Digest, Cancel);
        var second = await store.DeleteTokenAsync(token.Digest, Cancel);

        Assert.True(first);
        Assert.False(second);
        Assert.Null(await store.FindTokenAsync(token.Digest, Cancel));
        Assert.NotNull(await store.FindTokenAsync(other.Digest, Cancel));
        Assert.False(await store.DeleteTokenAsync(NewDigest(), Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_deleted_token_is_not_returned_by_get_or_add()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var token = await IssueAsync(store, alice, "10.0.0.1");
        await store.DeleteTokenAsync(token.Digest, Cancel);
        var request = Request(alice, "10.0.0.1");

        var result = await store.GetOrAddTokenAsync(request, Cancel);

        Assert.Equal(TokenIssueStatus.Added, result.Status);
        Assert.Equal(request.Digest, result.Digest);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Revoke_tokens_of_an_account_deletes_only_its_tokens_and_counts_them()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        await IssueAsync(store, alice, "10.0.0.1");
        await IssueAsync(store, alice, "10.0.0.2");
        await IssueAsync(store, alice, "10.0.0.3", issuedAt: Now - 100, expiresAt: Now - 1);
        var bobs = await IssueAsync(store, bob, "10.0.0.1");

        var revoked = await store.RevokeTokensAsync("alice", Cancel);

        Assert.Equal(3, revoked);
        Assert.Empty(await store.ListTokensAsync("alice", 100, Cancel));
        Assert.NotNull(await store.FindTokenAsync(bobs.Digest, Cancel));
        Assert.Equal(alice, await store.FindAccountAsync("alice", Cancel));
        Assert.Equal(0, await store.RevokeTokensAsync("alice", Cancel));
        Assert.Equal(0, await store.RevokeTokensAsync("nobody", Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Revoke_token_by_id_deletes_exactly_the_token_with_that_id_and_names_its_account()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");

        // The target at the low end of its id's range, and the digests right below and right above that range.
        var target = Digest(0x7F, 0x00);
        var below = Digest(0x7E, 0xFF);
        var above = Digest(0x80, 0x00);
        await store.GetOrAddTokenAsync(Request(alice, "10.0.0.1") with { Digest = target }, Cancel);
        await store.GetOrAddTokenAsync(Request(bob, "10.0.0.2") with { Digest = below }, Cancel);
        await store.GetOrAddTokenAsync(Request(bob, "10.0.0.3") with { Digest = above }, Cancel);
        var id = Tokens.TokenValue.IdOf(target);
        Assert.True(Tokens.TokenValue.TryGetDigestRange(id.ToUpperInvariant(), out var low, out var high));

        Assert.Equal("alice", await store.RevokeTokenByIdAsync(low, high, Cancel));
        Assert.Null(await store.FindTokenAsync(target, Cancel));
        Assert.NotNull(await store.FindTokenAsync(below, Cancel));
        Assert.NotNull(await store.FindTokenAsync(above, Cancel));
        Assert.Null(await store.RevokeTokenByIdAsync(low, high, Cancel));

        // An id of 0x5A bytes ending in idLastByte, then every other byte of the digest set to rest.
        static byte[] Digest(byte idLastByte, byte rest)
        {
            var digest = new byte[Tokens.TokenValue.DigestLength];
            digest.AsSpan().Fill(rest);
            digest.AsSpan(0, Tokens.TokenValue.IdBytes).Fill(0x5A);
            digest[Tokens.TokenValue.IdBytes - 1] = idLastByte;
            return digest;
        }
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Revoke_tokens_of_every_account_deletes_all_tokens_and_counts_them()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        await IssueAsync(store, alice, "10.0.0.1");
        await IssueAsync(store, alice, "10.0.0.2");
        await IssueAsync(store, bob, "10.0.0.1");

        var revoked = await store.RevokeTokensAsync(null, Cancel);

        Assert.Equal(3, revoked);
        Assert.Empty(await store.ListTokensAsync(null, 100, Cancel));
        Assert.Equal(2, (await store.ListAccountsAsync(Now, Cancel)).Count);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task List_tokens_returns_summaries_newest_first()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        var oldest = await IssueAsync(store, alice, "10.0.0.1", issuedAt: Now - 300, expiresAt: Now - 200);
        var newest = await IssueAsync(store, bob, "10.0.0.9,10.0.0.10", issuedAt: Now, expiresAt: Now + Lifetime);
        var middle = await IssueAsync(store, alice, "10.0.0.2", issuedAt: Now - 100, expiresAt: Now + 50);

        var listed = await store.ListTokensAsync(null, 100, Cancel);

        Assert.Equal(
            [
                new TokenSummary(IdOf(newest.Digest), "bob", "10.0.0.9,10.0.0.10", Now, Now + Lifetime),
                new TokenSummary(IdOf(middle.Digest), "alice", "10.0.0.2", Now - 100, Now + 50),
                new TokenSummary(IdOf(oldest.Digest), "alice", "10.0.0.1", Now - 300, Now - 200),
            ],
            listed);
        Assert.All(listed, t => Assert.Matches("^[0-9a-f]{16}$", t.Id));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task List_tokens_never_shows_a_digest_or_a_sealed_value()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var request = Request(alice, "10.0.0.1");
        await store.GetOrAddTokenAsync(request, Cancel);

        var listed = Assert.Single(await store.ListTokensAsync(null, 100, Cancel));

        var shown = listed.ToString();
        Assert.DoesNotContain(Convert.ToHexString(request.Digest), shown, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToHexString(request.Digest, 8, 24), shown, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToHexString(request.SealedToken[..8]), shown, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToBase64String(request.SealedToken), shown, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task List_tokens_of_one_account_shows_only_its_tokens()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        var first = await IssueAsync(store, alice, "10.0.0.1", issuedAt: Now - 10);
        await IssueAsync(store, bob, "10.0.0.1", issuedAt: Now - 5);
        var second = await IssueAsync(store, alice, "10.0.0.2", issuedAt: Now);

        var alices = await store.ListTokensAsync("alice", 100, Cancel);

        Assert.Equal([IdOf(second.Digest), IdOf(first.Digest)], alices.Select(t => t.Id));
        Assert.All(alices, t => Assert.Equal("alice", t.AccountName));
        Assert.Empty(await store.ListTokensAsync("Alice", 100, Cancel));
        Assert.Empty(await store.ListTokensAsync("nobody", 100, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task List_tokens_returns_at_most_the_limit_newest_first()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var issued = new List<Issued>();
        for (var i = 0; i < 10; i++)
        {
            issued.Add(await IssueAsync(store, alice, $"10.0.0.{i}", issuedAt: Now - 100 + i));
        }

        var listed = await store.ListTokensAsync(null, 3, Cancel);
        var ofAlice = await store.ListTokensAsync("alice", 4, Cancel);

        Assert.Equal(issued.AsEnumerable().Reverse().Take(3).Select(t => IdOf(t.Digest)), listed.Select(t => t.Id));
        Assert.Equal(4, ofAlice.Count);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Purge_deletes_at_most_a_batch_of_tokens_expired_at_or_before_the_cutoff_per_call()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        var live = new List<Issued>();
        for (var i = 0; i < 25; i++)
        {
            // The last expired one expires exactly at the cutoff, which counts as expired.
            await IssueAsync(store, i % 2 == 0 ? alice : bob, $"10.0.1.{i}", issuedAt: Now - 1_000, expiresAt: Now - 24 + i);
        }

        for (var i = 0; i < 5; i++)
        {
            live.Add(await IssueAsync(store, i % 2 == 0 ? alice : bob, $"10.0.2.{i}", issuedAt: Now - 1_000, expiresAt: Now + 1 + i));
        }

        var purged = new List<int>();
        for (var call = 0; call < 4; call++)
        {
            purged.Add(await store.PurgeExpiredTokensAsync(Now, 10, Cancel));
        }

        Assert.Equal([10, 10, 5, 0], purged);
        var remaining = await store.ListTokensAsync(null, 100, Cancel);
        Assert.Equal(live.Select(t => IdOf(t.Digest)).Order(StringComparer.Ordinal), remaining.Select(t => t.Id).Order(StringComparer.Ordinal));
        foreach (var token in live)
        {
            Assert.NotNull(await store.FindTokenAsync(token.Digest, Cancel));
        }
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Purge_with_nothing_expired_deletes_nothing()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var token = await IssueAsync(store, alice, "10.0.0.1", expiresAt: Now + 1);

        var purged = await store.PurgeExpiredTokensAsync(Now, 100, Cancel);

        Assert.Equal(0, purged);
        Assert.NotNull(await store.FindTokenAsync(token.Digest, Cancel));
    }

    // Lifecycle

    [Fact(Timeout = TestTimeout)]
    public async Task Initialize_again_is_harmless()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var token = await IssueAsync(store, alice, "10.0.0.1");

        await store.InitializeAsync(Cancel);
        await store.InitializeAsync(Cancel);

        Assert.Equal(alice, await store.FindAccountAsync("alice", Cancel));
        Assert.NotNull(await store.FindTokenAsync(token.Digest, Cancel));
        Assert.True(await store.CreateAccountAsync("bob", "hash-of-bob", Now, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Operations_after_dispose_fail_rather_than_hang()
    {
        var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice");
        var token = await IssueAsync(store, alice, "10.0.0.1");

        await store.DisposeAsync();

        await AssertFailsPromptly(() => store.FindAccountAsync("alice", Cancel).AsTask());
        await AssertFailsPromptly(() => store.FindTokenAsync(token.Digest, Cancel).AsTask());
        await AssertFailsPromptly(() => store.ListAccountsAsync(Now, Cancel).AsTask());
        await AssertFailsPromptly(() => store.ListTokensAsync(null, 10, Cancel).AsTask());
        await AssertFailsPromptly(() => store.CreateAccountAsync("bob", "hash-of-bob", Now, Cancel).AsTask());
        await AssertFailsPromptly(() => store.GetOrAddTokenAsync(Request(alice, "10.0.0.2"), Cancel).AsTask());
        await AssertFailsPromptly(() => store.DeleteTokenAsync(token.Digest, Cancel).AsTask());
        await AssertFailsPromptly(() => store.PurgeExpiredTokensAsync(Now, 10, Cancel).AsTask());
        await store.DisposeAsync();
    }

    // Helpers

    protected sealed record Issued(byte[] Digest, byte[] SealedToken, long ExpiresAt);

    protected static byte[] NewDigest() => SHA256.HashData(RandomNumberGenerator.GetBytes(20));

    protected static string IdOf(byte[] digest) => Convert.ToHexStringLower(digest, 0, 8);

    protected static TokenIssueRequest Request(
        AccountRecord account,
        string addressKey,
        long now = Now,
        long? expiresAt = null,
        int maxActiveTokens = NoLimit,
        bool alwaysAdd = false) =>
        new(account.Id, account.CredentialStamp, addressKey, NewDigest(), RandomNumberGenerator.GetBytes(64), now, expiresAt ?? now + Lifetime, maxActiveTokens, alwaysAdd);

    protected static async Task<AccountRecord> NewAccountAsync(ITokenGateStore store, string name, string? hash = null, long createdAt = Now)
    {
        Assert.True(await store.CreateAccountAsync(name, hash ?? $"hash-of-{name}-{Guid.NewGuid():N}", createdAt, Cancel));
        var account = await store.FindAccountAsync(name, Cancel);
        Assert.NotNull(account);
        return account;
    }

    /// <summary>Stores a new token that must be added (not matched), issued at <paramref name="issuedAt"/>.</summary>
    protected static async Task<Issued> IssueAsync(
        ITokenGateStore store,
        AccountRecord account,
        string addressKey,
        long issuedAt = Now,
        long? expiresAt = null,
        int maxActiveTokens = NoLimit)
    {
        var current = await store.FindAccountAsync(account.Name, Cancel);
        var request = Request(current!, addressKey, issuedAt, expiresAt, maxActiveTokens);
        var result = await store.GetOrAddTokenAsync(request, Cancel);
        Assert.Equal(TokenIssueStatus.Added, result.Status);
        return new Issued(request.Digest, request.SealedToken, request.ExpiresAt);
    }

    private static async Task AssertFailsPromptly(Func<Task> operation)
    {
        Task attempt;
        try
        {
            attempt = operation();
        }
        catch (Exception exception)
        {
            attempt = Task.FromException(exception);
        }

        var finished = await Task.WhenAny(attempt, Task.Delay(TimeSpan.FromSeconds(10), Cancel));
        Assert.Same(attempt, finished);
        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => attempt);
    }
}
