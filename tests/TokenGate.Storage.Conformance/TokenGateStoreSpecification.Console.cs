using TokenGate.Operators;
using Xunit;

namespace TokenGate.Storage.Conformance;

/// <summary>What the operator console needs of a store (issue 16): console operators, account pages and counts, the audit search.</summary>
public abstract partial class TokenGateStoreSpecification
{
    /// <summary>
    /// A store whose database was written by the build before operators (one account <c>legacy</c>, and two audit entries of it),
    /// then opened, and so migrated, by this build. Null when the backend has no earlier schema (the in-memory fake): the fact
    /// that needs it then passes without checking.
    /// </summary>
    protected virtual Task<ITokenGateStore?> UpgradeFromBeforeOperatorsAsync() => Task.FromResult<ITokenGateStore?>(null);

    // Operators

    [Fact(Timeout = TestTimeout)]
    public async Task Create_operator_then_find_returns_every_field_with_a_credential_stamp()
    {
        await using var store = await CreateStoreAsync();

        Assert.True(await store.CreateOperatorAsync("admin", "hash-of-admin", Now - 60, Cancel));
        var found = await store.FindOperatorAsync("admin", Cancel);

        Assert.NotNull(found);
        Assert.True(found.Id > 0);
        Assert.Equal(("admin", "hash-of-admin", Now - 60), (found.Name, found.PasswordHash, found.CreatedAt));
        Assert.Matches("^[0-9a-f]{32}$", found.CredentialStamp);
        Assert.Null(await store.FindOperatorAsync("root", Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task An_operator_name_is_unique_ignoring_case_lookups_stay_exact_and_the_list_is_sorted()
    {
        await using var store = await CreateStoreAsync();

        Assert.True(await store.CreateOperatorAsync("Carol", "hash-1", Now - 2, Cancel));
        Assert.False(await store.CreateOperatorAsync("Carol", "hash-2", Now, Cancel));
        Assert.False(await store.CreateOperatorAsync("carol", "hash-2", Now, Cancel));
        Assert.True(await store.CreateOperatorAsync("admin", "hash-3", Now - 1, Cancel));

        Assert.Equal("hash-1", (await store.FindOperatorAsync("Carol", Cancel))!.PasswordHash);
        Assert.Null(await store.FindOperatorAsync("carol", Cancel));
        Assert.Equal([new OperatorSummary("Carol", Now - 2), new OperatorSummary("admin", Now - 1)], await store.ListOperatorsAsync(Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task An_operator_is_not_an_account_and_an_account_is_not_an_operator()
    {
        await using var store = await CreateStoreAsync();
        await NewAccountAsync(store, "alice");

        Assert.True(await store.CreateOperatorAsync("alice", "hash-of-operator-alice", Now, Cancel));

        Assert.Null(await store.FindOperatorAsync("bob", Cancel));
        Assert.NotEqual("hash-of-operator-alice", (await store.FindAccountAsync("alice", Cancel))!.PasswordHash);
        Assert.True(await store.RemoveOperatorAsync("alice", Cancel));
        Assert.NotNull(await store.FindAccountAsync("alice", Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Concurrent_adds_of_operator_names_that_differ_only_in_case_create_exactly_one()
    {
        await using var store = await CreateStoreAsync();
        string[] names = ["ops", "Ops", "OPS", "oPs", "opS", "OPs"];

        var created = await Task.WhenAll(names.Select(name => Task.Run(async () => await store.CreateOperatorAsync(name, "hash-" + name, Now, Cancel))));

        Assert.Equal(1, created.Count(c => c));
        Assert.Equal(names[Array.IndexOf(created, true)], Assert.Single(await store.ListOperatorsAsync(Cancel)).Name);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Setting_an_operators_password_changes_the_hash_and_the_credential_stamp()
    {
        await using var store = await CreateStoreAsync();
        await store.CreateOperatorAsync("admin", "old-hash", Now, Cancel);
        var before = await store.FindOperatorAsync("admin", Cancel);

        Assert.True(await store.SetOperatorPasswordAsync("admin", "new-hash", Cancel));
        var after = await store.FindOperatorAsync("admin", Cancel);
        Assert.True(await store.SetOperatorPasswordAsync("admin", "new-hash", Cancel));
        var again = await store.FindOperatorAsync("admin", Cancel);

        Assert.Equal("new-hash", after!.PasswordHash);
        Assert.Equal((before!.Id, before.CreatedAt), (after.Id, after.CreatedAt));
        Assert.NotEqual(before.CredentialStamp, after.CredentialStamp);
        Assert.NotEqual(after.CredentialStamp, again!.CredentialStamp);
        Assert.False(await store.SetOperatorPasswordAsync("Admin", "other-hash", Cancel));
        Assert.False(await store.SetOperatorPasswordAsync("nobody", "other-hash", Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Removing_an_operator_deletes_it_and_frees_its_name()
    {
        await using var store = await CreateStoreAsync();
        await store.CreateOperatorAsync("admin", "old-hash", Now, Cancel);
        var before = await store.FindOperatorAsync("admin", Cancel);

        Assert.False(await store.RemoveOperatorAsync("ADMIN", Cancel));
        Assert.True(await store.RemoveOperatorAsync("admin", Cancel));
        Assert.False(await store.RemoveOperatorAsync("admin", Cancel));
        Assert.Null(await store.FindOperatorAsync("admin", Cancel));
        Assert.Empty(await store.ListOperatorsAsync(Cancel));

        Assert.True(await store.CreateOperatorAsync("Admin", "new-hash", Now + 1, Cancel));
        var recreated = await store.FindOperatorAsync("Admin", Cancel);
        Assert.NotEqual(before!.Id, recreated!.Id);
        Assert.NotEqual(before.CredentialStamp, recreated.CredentialStamp);
    }

    // The console's account pages and counts

    [Fact(Timeout = TestTimeout)]
    public async Task Search_accounts_pages_by_name_after_the_last_one_seen()
    {
        await using var store = await CreateStoreAsync();
        foreach (var name in new[] { "dave", "Bob", "alice", "carol", "erin" })
        {
            await NewAccountAsync(store, name);
        }

        var first = await store.SearchAccountsAsync(null, null, 2, Now, Cancel);
        var second = await store.SearchAccountsAsync(null, first[^1].Name, 2, Now, Cancel);
        var third = await store.SearchAccountsAsync(null, second[^1].Name, 2, Now, Cancel);
        var past = await store.SearchAccountsAsync(null, third[^1].Name, 2, Now, Cancel);

        // Ordinal order, as the account list: upper case first.
        Assert.Equal(["Bob", "alice"], first.Select(a => a.Name));
        Assert.Equal(["carol", "dave"], second.Select(a => a.Name));
        Assert.Equal(["erin"], third.Select(a => a.Name));
        Assert.Empty(past);
        Assert.Equal(["carol", "dave", "erin"], (await store.SearchAccountsAsync(null, "c", 10, Now, Cancel)).Select(a => a.Name));
        Assert.Equal(["dave", "erin"], (await store.SearchAccountsAsync(null, "carol", 10, Now, Cancel)).Select(a => a.Name));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Search_accounts_finds_names_containing_the_text_ignoring_case_with_their_state_and_live_tokens()
    {
        await using var store = await CreateStoreAsync();
        var alice = await NewAccountAsync(store, "alice", createdAt: Now - 5);
        await NewAccountAsync(store, "Malice.Ops", createdAt: Now - 4);
        await NewAccountAsync(store, "bob");
        await NewAccountAsync(store, "ALI_x");
        await store.SetAccountEnabledAsync("Malice.Ops", enabled: false, Cancel);
        await IssueAsync(store, alice, "10.0.0.1", expiresAt: Now + 100);
        await IssueAsync(store, alice, "10.0.0.2", issuedAt: Now - 100, expiresAt: Now);

        var found = await store.SearchAccountsAsync("LIC", null, 10, Now, Cancel);
        var paged = await store.SearchAccountsAsync("ali", "ALI_x", 1, Now, Cancel);

        Assert.Equal(
            [
                new AccountSummary("Malice.Ops", Enabled: false, CreatedAt: Now - 4, ActiveTokens: 0),
                new AccountSummary("alice", Enabled: true, CreatedAt: Now - 5, ActiveTokens: 1),
            ],
            found);
        Assert.Equal(["Malice.Ops"], paged.Select(a => a.Name));
        Assert.Equal(["ALI_x"], (await store.SearchAccountsAsync("i_X", null, 10, Now, Cancel)).Select(a => a.Name));
        Assert.Empty(await store.SearchAccountsAsync("%", null, 10, Now, Cancel));
        Assert.Empty(await store.SearchAccountsAsync("zed", null, 10, Now, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Count_accounts_counts_enabled_and_disabled_accounts_and_tokens_unexpired_at_the_given_time()
    {
        await using var store = await CreateStoreAsync();
        Assert.Equal(new AccountCounts(0, 0, 0), await store.CountAccountsAsync(Now, Cancel));
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        await NewAccountAsync(store, "carol");
        await store.SetAccountEnabledAsync("carol", enabled: false, Cancel);
        await IssueAsync(store, alice, "10.0.0.1", expiresAt: Now + 100);
        await IssueAsync(store, alice, "10.0.0.2", expiresAt: Now + 200);
        await IssueAsync(store, bob, "10.0.0.1", issuedAt: Now - 100, expiresAt: Now);

        Assert.Equal(new AccountCounts(Enabled: 2, Disabled: 1, LiveTokens: 2), await store.CountAccountsAsync(Now, Cancel));
        Assert.Equal(new AccountCounts(Enabled: 2, Disabled: 1, LiveTokens: 1), await store.CountAccountsAsync(Now + 100, Cancel));
    }

    // The audit search

    private static readonly AuditEntry[] Trail =
    [
        new(Now - 50, "alice", "10.0.0.1", AuditActions.Get, AuditActions.Issued, "0011223344556677"),
        new(Now - 40, null, "10.0.0.9", AuditActions.Get, AuditActions.AuthenticationFailure),
        new(Now - 30, "alice", AuditActions.OperatorClient, AuditActions.AccountDisable, AuditActions.Done),
        new(Now - 20, "bob", "10.0.0.1", AuditActions.Delete, AuditActions.Deleted, "8899aabbccddeeff"),
        new(Now - 10, "alice", "10.0.0.9", AuditActions.Get, AuditActions.AuthenticationFailure),
        new(Now, "bob", "198.51.100.7", AuditActions.AccountPassword, AuditActions.Done, Operator: "admin"),
    ];

    private static async Task<IReadOnlyList<AuditRecord>> SearchTrailAsync(ITokenGateStore store, AuditQuery query)
    {
        if ((await store.SearchAuditAsync(new AuditQuery(Limit: 1), Cancel)).Count == 0)
        {
            await store.AppendAuditAsync(Trail[..3], Cancel);
            await store.AppendAuditAsync(Trail[3..], Cancel);
        }

        return await store.SearchAuditAsync(query, Cancel);
    }

    public static TheoryData<string, AuditQuery, int[]> AuditFilters => new()
    {
        { "everything", new AuditQuery(), [5, 4, 3, 2, 1, 0] },
        { "account", new AuditQuery(Account: "alice"), [4, 2, 0] },
        { "action", new AuditQuery(Action: AuditActions.Get), [4, 1, 0] },
        { "outcome", new AuditQuery(Outcome: AuditActions.AuthenticationFailure), [4, 1] },
        { "the routine action's partial index leaves it out", new AuditQuery(Action: AuditActions.Delete), [3] },
        { "the routine outcome", new AuditQuery(Outcome: AuditActions.Issued), [0] },
        { "a routine and a rare value", new AuditQuery(Action: AuditActions.Get, Outcome: AuditActions.AuthenticationFailure), [4, 1] },
        { "client", new AuditQuery(Client: "10.0.0.1"), [3, 0] },
        { "cli", new AuditQuery(Client: AuditActions.OperatorClient), [2] },
        { "from (inclusive)", new AuditQuery(From: Now - 20), [5, 4, 3] },
        { "to (exclusive)", new AuditQuery(To: Now - 20), [2, 1, 0] },
        { "from and to", new AuditQuery(From: Now - 40, To: Now - 10), [3, 2, 1] },
        { "every filter", new AuditQuery("alice", AuditActions.Get, AuditActions.AuthenticationFailure, "10.0.0.9", Now - 10, Now + 1), [4] },
        { "no match", new AuditQuery(Account: "ALICE"), [] },
        { "limit", new AuditQuery(Limit: 2), [5, 4] },
    };

    [Theory(Timeout = TestTimeout)]
    [MemberData(nameof(AuditFilters))]
    public async Task Audit_search_returns_the_entries_that_match_every_filter_newest_first(string filter, AuditQuery query, int[] expected)
    {
        await using var store = await CreateStoreAsync();

        var found = await SearchTrailAsync(store, query);

        Assert.True(expected.Select(i => Trail[i]).SequenceEqual(found.Select(r => r.Entry)), filter);
        Assert.Equal(found.Select(r => r.Id).OrderDescending(), found.Select(r => r.Id));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Audit_search_pages_newest_first_before_the_last_id_seen()
    {
        await using var store = await CreateStoreAsync();
        var everything = await SearchTrailAsync(store, new AuditQuery());

        var first = await store.SearchAuditAsync(new AuditQuery(Limit: 4), Cancel);
        var second = await store.SearchAuditAsync(new AuditQuery(BeforeId: first[^1].Id, Limit: 4), Cancel);
        var filtered = await store.SearchAuditAsync(new AuditQuery(Account: "alice", BeforeId: everything[2].Id, Limit: 1), Cancel);

        Assert.Equal(everything, [.. first, .. second]);
        Assert.Equal(2, second.Count);
        Assert.Empty(await store.SearchAuditAsync(new AuditQuery(BeforeId: second[^1].Id), Cancel));
        Assert.Equal([Trail[2]], filtered.Select(r => r.Entry));
        Assert.Equal(6, everything.Select(r => r.Id).Distinct().Count());
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Audit_search_with_a_time_range_pages_in_time_order_when_entries_were_appended_out_of_it()
    {
        await using var store = await CreateStoreAsync();

        // Instances whose clocks differ append out of time order; carol and dave share a second.
        AuditEntry[] appended =
        [
            new(Now - 10, "alice", "10.0.0.1", AuditActions.Get, AuditActions.Issued),
            new(Now - 30, "bob", "10.0.0.2", AuditActions.Get, AuditActions.Issued),
            new(Now - 20, "carol", "10.0.0.3", AuditActions.Get, AuditActions.Issued),
            new(Now - 20, "dave", "10.0.0.4", AuditActions.Get, AuditActions.Issued),
            new(Now - 40, "erin", "10.0.0.5", AuditActions.Get, AuditActions.Issued),
        ];
        foreach (var entry in appended)
        {
            await store.AppendAuditAsync([entry], Cancel);
        }

        var all = await store.SearchAuditAsync(new AuditQuery(Limit: 10), Cancel);
        var range = new AuditQuery(From: Now - 40, To: Now, Limit: 2);
        var first = await store.SearchAuditAsync(range, Cancel);
        var second = await store.SearchAuditAsync(range with { BeforeId = first[^1].Id }, Cancel);
        var third = await store.SearchAuditAsync(range with { BeforeId = second[^1].Id }, Cancel);

        Assert.Equal(Enumerable.Reverse(appended), all.Select(r => r.Entry));
        Assert.Equal(["alice", "dave", "carol", "bob", "erin"], new[] { first, second, third }.SelectMany(page => page).Select(r => r.Entry.Account));
        Assert.Equal((range with { Limit = 10 }).Search(all), new[] { first, second, third }.SelectMany(page => page));
        Assert.Empty(await store.SearchAuditAsync(range with { BeforeId = third[^1].Id }, Cancel));
        Assert.Empty(await store.SearchAuditAsync(range with { BeforeId = all.Max(r => r.Id) + 100 }, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_operator_of_an_audit_entry_is_stored_and_read_back()
    {
        await using var store = await CreateStoreAsync();
        await store.AppendAuditAsync(
            [
                new AuditEntry(Now, "alice", "127.0.0.1", AuditActions.AccountRemove, AuditActions.Done, Operator: "admin"),
                new AuditEntry(Now, "bob", AuditActions.OperatorClient, AuditActions.AccountRemove, AuditActions.Done),
            ],
            Cancel);

        Assert.Equal(["admin", null], (await store.SearchAuditAsync(new AuditQuery(), Cancel)).Select(r => r.Entry.Operator).Reverse());
        Assert.Equal("admin", (await store.ListAuditAsync("alice", null, 10, Cancel))[0].Operator);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Audit_search_refuses_a_limit_below_one()
    {
        await using var store = await CreateStoreAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.SearchAuditAsync(new AuditQuery(Limit: 0), Cancel));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.SearchAccountsAsync(null, null, 0, Now, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_upgrade_to_operators_keeps_accounts_and_the_audit_trail()
    {
        await using var store = await UpgradeFromBeforeOperatorsAsync();
        if (store is null)
        {
            return;
        }

        var legacy = await store.FindAccountAsync("legacy", Cancel);
        Assert.Equal(("hash-of-legacy", 7L), (legacy!.PasswordHash, legacy.CreatedAt));
        Assert.Equal(
            [
                new AuditEntry(Now - 1, "legacy", AuditActions.OperatorClient, AuditActions.AccountDisable, AuditActions.Done),
                new AuditEntry(Now - 2, "legacy", "10.0.0.1", AuditActions.Get, AuditActions.Issued, "0011223344556677"),
            ],
            (await store.SearchAuditAsync(new AuditQuery(Account: "legacy"), Cancel)).Select(r => r.Entry));
        Assert.Empty(await store.ListOperatorsAsync(Cancel));
        Assert.True(await store.CreateOperatorAsync("admin", "hash-of-admin", Now, Cancel));
        await store.AppendAuditAsync([new AuditEntry(Now, "legacy", "127.0.0.1", AuditActions.AccountEnable, AuditActions.Done, Operator: "admin")], Cancel);
        Assert.Equal("admin", (await store.SearchAuditAsync(new AuditQuery(Limit: 1), Cancel))[0].Entry.Operator);
    }
}
