using System.Security.Cryptography;
using TokenGate.Accounts;
using TokenGate.Testing;

namespace TokenGate.Storage.Postgres.Tests;

/// <summary>
/// Issuing in batches (<see cref="PostgresIssueWriter"/>): concurrent gets share commits, and every promise of a get made alone
/// still holds for each request of a batch, also across two store objects (two instances) on one database.
/// </summary>
public sealed class PostgresIssueBatchTests(PostgresFixture postgres)
{
    private const long Now = 1_767_225_600;
    private const int TestTimeout = 120_000;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact(Timeout = TestTimeout)]
    public async Task Two_hundred_concurrent_gets_of_one_account_add_two_hundred_durable_tokens_in_far_fewer_commits()
    {
        var (_, _, connectionString) = await postgres.CreateDatabaseAsync("batch_one_account");
        var requests = new List<TokenIssueRequest>();
        long commits;
        long batches;
        await using (var store = await OpenAsync(connectionString))
        {
            var alice = await NewAccountAsync(store, "alice");
            requests.AddRange(Enumerable.Range(0, 200).Select(i => Request(alice, $"10.0.{i / 250}.{i % 250}")));
            var commitsBefore = store.Issues.Commits;
            var batchesBefore = store.Issues.Batches;

            var results = await Task.WhenAll(requests.Select(r => Task.Run(() => store.GetOrAddTokenAsync(r, Cancel).AsTask(), Cancel)));

            commits = store.Issues.Commits - commitsBefore;
            batches = store.Issues.Batches - batchesBefore;
            Assert.All(results, r => Assert.Equal(TokenIssueStatus.Added, r.Status));
            Assert.Equal(requests.Select(r => r.Digest), results.Select(r => r.Digest));
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"200 concurrent gets of one account: {commits} commits, {batches} batches");
        Assert.InRange(commits, 1, 50);

        // Durable: a store opened afresh (its own pool, its own sessions) reads every token back.
        await using var fresh = await OpenAsync(connectionString);
        foreach (var request in requests)
        {
            var found = await fresh.FindTokenAsync(request.Digest, Cancel);
            Assert.Equal((request.AddressKey, request.ExpiresAt), (found!.AddressKey, found.ExpiresAt));
        }

        Assert.Equal(200, (await fresh.ListAccountsAsync(Now, Cancel)).Single().ActiveTokens);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Concurrent_gets_of_a_few_address_sets_through_two_instances_store_one_token_per_set()
    {
        var (_, _, connectionString) = await postgres.CreateDatabaseAsync("batch_two_instances");
        await using var first = await OpenAsync(connectionString);
        await using var second = await OpenAsync(connectionString);
        var alice = await NewAccountAsync(first, "alice");
        var requests = Enumerable.Range(0, 240).Select(i => Request(alice, $"10.1.0.{i % 12}")).ToList();

        var results = await Task.WhenAll(requests.Select((r, i) => Task.Run(
            () => (i % 2 == 0 ? first : second).GetOrAddTokenAsync(r, Cancel).AsTask(),
            Cancel)));

        Assert.Equal(12, results.Count(r => r.Status == TokenIssueStatus.Added));
        foreach (var set in requests.Zip(results).GroupBy(p => p.First.AddressKey))
        {
            Assert.Single(set.Select(p => Convert.ToHexString(p.Second.Digest!)).Distinct());
        }

        Assert.Equal(12, (await second.ListTokensAsync("alice", 1000, Cancel)).Count);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_per_account_limit_holds_under_a_concurrent_burst_through_two_instances()
    {
        var (_, _, connectionString) = await postgres.CreateDatabaseAsync("batch_limit");
        await using var first = await OpenAsync(connectionString);
        await using var second = await OpenAsync(connectionString);
        var alice = await NewAccountAsync(first, "alice");
        var bob = await NewAccountAsync(first, "bob");
        await first.GetOrAddTokenAsync(Request(alice, "10.2.0.250", maxActiveTokens: 50), Cancel);
        var requests = Enumerable.Range(0, 200).Select(i => Request(i % 4 == 3 ? bob : alice, $"10.2.0.{i}", maxActiveTokens: 50)).ToList();

        var results = await Task.WhenAll(requests.Select((r, i) => Task.Run(
            () => (i % 2 == 0 ? first : second).GetOrAddTokenAsync(r, Cancel).AsTask(),
            Cancel)));

        var alices = requests.Zip(results).Where(p => p.First.AccountId == alice.Id).Select(p => p.Second.Status).ToList();
        Assert.Equal(49, alices.Count(s => s == TokenIssueStatus.Added));
        Assert.Equal(150 - 49, alices.Count(s => s == TokenIssueStatus.TooManyTokens));
        Assert.All(requests.Zip(results).Where(p => p.First.AccountId == bob.Id), p => Assert.Equal(TokenIssueStatus.Added, p.Second.Status));
        var accounts = await second.ListAccountsAsync(Now, Cancel);
        Assert.Equal([50, 50], accounts.Select(a => a.ActiveTokens));

        // The bound the batches keep is an upper bound only: once the tokens have expired, the account issues again.
        var later = await second.GetOrAddTokenAsync(Request(alice, "10.2.1.1", maxActiveTokens: 50, now: Now + 50_000), Cancel);
        Assert.Equal(TokenIssueStatus.Added, later.Status);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_stamp_changed_before_a_burst_refuses_only_the_requests_that_carry_the_old_stamp()
    {
        var (_, _, connectionString) = await postgres.CreateDatabaseAsync("batch_stamp");
        await using var issuer = await OpenAsync(connectionString);
        await using var changer = await OpenAsync(connectionString);
        var alice = await NewAccountAsync(issuer, "alice");
        var bob = await NewAccountAsync(issuer, "bob");
        Assert.True(await changer.ChangePasswordAsync(alice.Id, "new-hash", keepTokenDigest: null, Cancel));
        var changed = (await issuer.FindAccountAsync("alice", Cancel))!;
        var requests = Enumerable.Range(0, 150).Select(i => (i % 3) switch
        {
            0 => Request(alice, $"10.3.0.{i}"),
            1 => Request(changed, $"10.3.0.{i}"),
            _ => Request(bob, $"10.3.0.{i}"),
        }).ToList();

        var results = await Task.WhenAll(requests.Select(r => Task.Run(() => issuer.GetOrAddTokenAsync(r, Cancel).AsTask(), Cancel)));

        foreach (var (request, result) in requests.Zip(results))
        {
            var expected = request.CredentialStamp == alice.CredentialStamp && request.AccountId == alice.Id
                ? TokenIssueStatus.CredentialsChanged
                : TokenIssueStatus.Added;
            Assert.Equal(expected, result.Status);
        }

        Assert.Equal(50, (await issuer.ListTokensAsync("alice", 1000, Cancel)).Count);
        Assert.Equal(50, (await issuer.ListTokensAsync("bob", 1000, Cancel)).Count);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_request_that_fails_in_the_database_fails_alone_and_the_rest_of_its_batch_is_stored()
    {
        var (_, _, connectionString) = await postgres.CreateDatabaseAsync("batch_isolation");
        await using var store = await OpenAsync(connectionString);
        var alice = await NewAccountAsync(store, "alice");
        var taken = await store.GetOrAddTokenAsync(Request(alice, "10.4.0.1"), Cancel);

        // A candidate whose digest is already stored: its INSERT breaks the primary key, whichever batch it lands in.
        var requests = Enumerable.Range(0, 60).Select(i => Request(alice, $"10.4.1.{i}")).ToList();
        requests[30] = requests[30] with { Digest = taken.Digest! };
        var outcomes = await Task.WhenAll(requests.Select(r => Task.Run(
            async () =>
            {
                try
                {
                    return (Result: await store.GetOrAddTokenAsync(r, Cancel), Failure: (Exception?)null);
                }
                catch (Exception exception)
                {
                    return (Result: (TokenIssueResult?)null, Failure: exception);
                }
            },
            Cancel)));

        Assert.IsType<Npgsql.PostgresException>(outcomes[30].Failure);
        Assert.All(outcomes.Where((_, i) => i != 30), o => Assert.Equal(TokenIssueStatus.Added, o.Result!.Status));
        Assert.Equal(60, (await store.ListTokensAsync("alice", 1000, Cancel)).Count);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_caller_that_gives_up_does_not_cancel_the_others_in_its_batch()
    {
        var (_, _, connectionString) = await postgres.CreateDatabaseAsync("batch_cancel");
        await using var store = await OpenAsync(connectionString);
        var alice = await NewAccountAsync(store, "alice");
        using var impatient = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var requests = Enumerable.Range(0, 100).Select(i => Request(alice, $"10.5.0.{i}")).ToList();

        var tasks = requests.Select((r, i) => store.GetOrAddTokenAsync(r, i % 10 == 0 ? impatient.Token : Cancel).AsTask()).ToList();
        await impatient.CancelAsync();
        await Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));

        foreach (var (request, task) in requests.Zip(tasks))
        {
            var stored = await store.FindTokenAsync(request.Digest, Cancel);
            if (task.IsCanceled)
            {
                Assert.Null(stored);
            }
            else
            {
                Assert.Equal(TokenIssueStatus.Added, (await task).Status);
                Assert.NotNull(stored);
            }
        }

        Assert.All(tasks.Where((_, i) => i % 10 != 0), t => Assert.True(t.IsCompletedSuccessfully));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task One_batch_is_decided_in_queue_order_as_if_each_request_ran_alone()
    {
        var (_, _, connectionString) = await postgres.CreateDatabaseAsync("batch_order");
        await using var store = await OpenAsync(connectionString);
        var alice = await NewAccountAsync(store, "alice");
        var bob = await NewAccountAsync(store, "bob");
        var stored = await store.GetOrAddTokenAsync(Request(alice, "10.6.0.9"), Cancel);
        var stale = alice with { CredentialStamp = alice.CredentialStamp - 1 };

        // Alice's row held by another transaction: the writer's first batch (one request) waits for it, and everything queued
        // meanwhile goes into the next batch, in this order.
        await using var holder = new Npgsql.NpgsqlConnection(connectionString);
        await holder.OpenAsync(Cancel);
        await using var transaction = await holder.BeginTransactionAsync(Cancel);
        await using (var lockRow = new Npgsql.NpgsqlCommand($"SELECT id FROM accounts WHERE id = {alice.Id} FOR UPDATE", holder, transaction))
        {
            await lockRow.ExecuteScalarAsync(Cancel);
        }

        var first = store.Issues.IssueAsync(Request(alice, "10.6.0.1"), Cancel);
        await Task.Delay(300, Cancel);
        var queued = new (string What, TokenIssueRequest Request)[]
        {
            ("set A, first", Request(alice, "10.6.1.1", maxActiveTokens: 5)),
            ("set A, again", Request(alice, "10.6.1.1", maxActiveTokens: 5)),
            ("stored set", Request(alice, "10.6.0.9", maxActiveTokens: 5)),
            ("stale stamp", Request(stale, "10.6.1.2", maxActiveTokens: 5)),
            ("set B, always add", Request(alice, "10.6.1.3", maxActiveTokens: 5) with { AlwaysAdd = true }),
            ("set B, after it", Request(alice, "10.6.1.3", maxActiveTokens: 5)),
            ("set C, fills the limit", Request(alice, "10.6.1.4", maxActiveTokens: 5)),
            ("set D, over the limit", Request(alice, "10.6.1.5", maxActiveTokens: 5)),
            ("set D, again", Request(alice, "10.6.1.5", maxActiveTokens: 5)),
            ("bob, set A", Request(bob, "10.6.1.1", maxActiveTokens: 5)),
        };
        var tasks = queued.Select(q => store.Issues.IssueAsync(q.Request, Cancel)).ToArray();
        var batchesBefore = store.Issues.Batches;
        await transaction.CommitAsync(Cancel);
        Assert.Equal(TokenIssueStatus.Added, (await first).Status);
        var results = await Task.WhenAll(tasks);
        var answers = queued.Zip(results, (q, r) => (q.What, r.Status, Digest: Convert.ToHexString(r.Digest ?? [])))
            .ToDictionary(a => a.What);
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join("\n", answers.Values));

        // Alice held 2 tokens (10.6.0.9, 10.6.0.1) under a limit of 5: three more fit, in queue order.
        Assert.Equal(1, store.Issues.Batches - batchesBefore);
        Assert.Equal(TokenIssueStatus.Added, answers["set A, first"].Status);
        Assert.Equal((TokenIssueStatus.Existing, answers["set A, first"].Digest), (answers["set A, again"].Status, answers["set A, again"].Digest));
        Assert.Equal((TokenIssueStatus.Existing, Convert.ToHexString(stored.Digest!)), (answers["stored set"].Status, answers["stored set"].Digest));
        Assert.Equal(TokenIssueStatus.CredentialsChanged, answers["stale stamp"].Status);
        Assert.Equal(TokenIssueStatus.Added, answers["set B, always add"].Status);
        Assert.Equal((TokenIssueStatus.Existing, answers["set B, always add"].Digest), (answers["set B, after it"].Status, answers["set B, after it"].Digest));
        Assert.Equal(TokenIssueStatus.Added, answers["set C, fills the limit"].Status);
        Assert.Equal(TokenIssueStatus.TooManyTokens, answers["set D, over the limit"].Status);
        Assert.Equal(TokenIssueStatus.TooManyTokens, answers["set D, again"].Status);
        Assert.Equal(TokenIssueStatus.Added, answers["bob, set A"].Status);
        Assert.Equal(5, (await store.ListTokensAsync("alice", 1000, Cancel)).Count);

        // The bound kept under the lock is the true count: one more is refused, and after one is deleted one more fits.
        Assert.Equal(TokenIssueStatus.TooManyTokens, (await store.GetOrAddTokenAsync(Request(alice, "10.6.2.1", maxActiveTokens: 5), Cancel)).Status);
        Assert.True(await store.DeleteTokenAsync(stored.Digest!, Cancel));
        Assert.Equal(TokenIssueStatus.Added, (await store.GetOrAddTokenAsync(Request(alice, "10.6.2.1", maxActiveTokens: 5), Cancel)).Status);
    }

    private static async Task<AccountRecord> NewAccountAsync(PostgresTokenGateStore store, string name)
    {
        Assert.True(await store.CreateAccountAsync(name, $"hash-of-{name}", Now, Cancel));
        return (await store.FindAccountAsync(name, Cancel))!;
    }

    private static TokenIssueRequest Request(AccountRecord account, string addressKey, int maxActiveTokens = 1_000, long now = Now) =>
        new(account.Id, account.CredentialStamp, addressKey, SHA256.HashData(RandomNumberGenerator.GetBytes(20)), RandomNumberGenerator.GetBytes(64), now, now + 43_200, maxActiveTokens);

    private static async Task<PostgresTokenGateStore> OpenAsync(string connectionString)
    {
        var store = new PostgresTokenGateStore(new PostgresStoreOptions { ConnectionString = connectionString });
        await store.InitializeAsync(Cancel);
        return store;
    }
}
