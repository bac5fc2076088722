using System.Diagnostics;
using Xunit;

namespace TokenGate.Storage.Conformance;

/// <summary>The login-attempt counters and familiar addresses (issue 14): atomic under concurrency, shared by every store on a
/// database, durable, windowed, and released on success.</summary>
public abstract partial class TokenGateStoreSpecification
{
    private const long Window = 900;

    private const string Alice = "digest-of-alice";
    private const string Bob = "digest-of-bob";
    private const string Address = "192.0.2.7";
    private const string OtherAddress = "2001:db8:1:2::/64";

    private static AttemptCounter PairOf(string username = Alice, string client = Address, int blockAfter = 20) => AttemptCounter.Pair(username, client, blockAfter);

    private static async Task<int> CountOfAsync(ITokenGateStore store, AttemptCounter counter, long now = Now)
    {
        var counters = await store.ListAttemptCountersAsync(now, Window, 1_000, Cancel);
        return counters.SingleOrDefault(c => (c.Scope, c.Username, c.Client) == (counter.Scope, counter.Username, counter.Client))?.Count ?? 0;
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Concurrent_reservations_of_one_counter_allow_exactly_its_limit()
    {
        await using var store = await CreateStoreAsync();
        var pair = PairOf(blockAfter: 20);

        var reservations = await Task.WhenAll(Enumerable.Range(0, 400).Select(_ => Task.Run(() => store.ReserveAttemptAsync([pair], Now, Window, Cancel).AsTask(), Cancel)));

        Assert.Equal(20, reservations.Count(r => r.Allowed));
        Assert.Equal(380, reservations.Count(r => !r.Allowed));
        Assert.Equal(Enumerable.Range(0, 20), reservations.Where(r => r.Allowed).Select(r => r.CountsBefore[0]).Order());
        Assert.Equal(20, await CountOfAsync(store, pair));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Two_stores_on_one_database_share_the_counters()
    {
        await using var store = await CreateStoreAsync();
        await using var other = await OpenSecondStoreAsync(store);
        if (other is null)
        {
            return;
        }

        var pair = PairOf(blockAfter: 15);

        var reservations = await Task.WhenAll(
            new[] { store, other }.SelectMany(s => Enumerable.Range(0, 10).Select(_ => Task.Run(() => s.ReserveAttemptAsync([pair], Now, Window, Cancel).AsTask(), Cancel))));

        Assert.Equal(15, reservations.Count(r => r.Allowed));
        Assert.Equal(15, await CountOfAsync(other, pair));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_refused_reservation_moves_no_counter()
    {
        await using var store = await CreateStoreAsync();
        AttemptCounter[] counters = [PairOf(blockAfter: 100), AttemptCounter.ForClient(Address, 3)];
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await store.ReserveAttemptAsync(counters, Now - 10 + i, Window, Cancel)).Allowed);
        }

        var refused = await store.ReserveAttemptAsync(counters, Now, Window, Cancel);

        Assert.False(refused.Allowed);
        Assert.Equal(1, refused.RefusedIndex);
        Assert.Equal([3, 3], refused.CountsBefore);
        Assert.Equal(Window - 8, refused.RetryAfterSeconds);
        Assert.Empty(refused.BlocksStarted);
        Assert.Equal(3, await CountOfAsync(store, counters[0]));
        var listed = await store.ListAttemptCountersAsync(Now, Window, 10, Cancel);
        Assert.All(listed, c => Assert.Equal(Now - 8, c.LastAt));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_counter_whose_window_passed_counts_as_zero_and_starts_again_at_one()
    {
        await using var store = await CreateStoreAsync();
        var pair = PairOf(blockAfter: 2);
        await store.ReserveAttemptAsync([pair], Now - Window - 5, Window, Cancel);
        await store.ReserveAttemptAsync([pair], Now - Window - 1, Window, Cancel);
        var refusedThen = await store.ReserveAttemptAsync([pair], Now - Window - 1, Window, Cancel);

        var later = await store.ReserveAttemptAsync([pair], Now, Window, Cancel);

        Assert.Equal((false, Window), (refusedThen.Allowed, refusedThen.RetryAfterSeconds));
        Assert.True(later.Allowed);
        Assert.Equal([0], later.CountsBefore);
        Assert.Equal(1, await CountOfAsync(store, pair));
        Assert.Empty(await store.ListAttemptCountersAsync(Now + Window, Window, 10, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Release_deletes_the_pair_counter_and_takes_one_off_the_others()
    {
        await using var store = await CreateStoreAsync();
        AttemptCounter[] counters = [PairOf(), AttemptCounter.ForClient(Address, 50), AttemptCounter.Account(Alice, 100)];
        await store.ReserveAttemptAsync(counters, Now, Window, Cancel);
        await store.ReserveAttemptAsync(counters, Now, Window, Cancel);

        await store.ReleaseAttemptAsync(counters, true, null, null, Now, Cancel);

        Assert.Equal(
            [(AttemptScope.Client, "", Address, 1), (AttemptScope.Account, Alice, "", 1)],
            (await store.ListAttemptCountersAsync(Now, Window, 10, Cancel)).Select(c => (c.Scope, c.Username, c.Client, c.Count)).OrderBy(c => c.Scope));

        // Never below zero: a release with nothing left to undo leaves the counts at zero.
        await store.ReleaseAttemptAsync(counters, true, null, null, Now, Cancel);
        await store.ReleaseAttemptAsync(counters, true, null, null, Now, Cancel);
        var next = await store.ReserveAttemptAsync(counters, Now, Window, Cancel);
        Assert.Equal([0, 0, 0], next.CountsBefore);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_release_records_the_familiar_address_at_most_once_a_day()
    {
        await using var store = await CreateStoreAsync();
        AttemptCounter[] counters = [PairOf(), AttemptCounter.ForClient(Address, 50)];
        Assert.False(await store.IsFamiliarAsync(Alice, Address, 0, Cancel));

        await store.ReserveAttemptAsync(counters, Now, Window, Cancel);
        await store.ReleaseAttemptAsync(counters, true, Alice, Address, Now, Cancel);
        await store.ReserveAttemptAsync(counters, Now + 100, Window, Cancel);
        await store.ReleaseAttemptAsync(counters, true, Alice, Address, Now + 100, Cancel);

        // The second success, within the day, wrote nothing: the last success is still the first one.
        Assert.True(await store.IsFamiliarAsync(Alice, Address, Now, Cancel));
        Assert.False(await store.IsFamiliarAsync(Alice, Address, Now + 50, Cancel));
        Assert.False(await store.IsFamiliarAsync(Alice, OtherAddress, 0, Cancel));
        Assert.False(await store.IsFamiliarAsync(Bob, Address, 0, Cancel));

        await store.ReleaseAttemptAsync([], true, Alice, Address, Now + LoginAttempts.FamiliarRefreshSeconds + 1, Cancel);
        Assert.True(await store.IsFamiliarAsync(Alice, Address, Now + LoginAttempts.FamiliarRefreshSeconds + 1, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Reaching_a_limit_reports_the_block_and_moves_the_revocation_epoch_and_nothing_else_does()
    {
        await using var store = await CreateStoreAsync();
        AttemptCounter[] counters = [PairOf(blockAfter: 3), AttemptCounter.ForClient(Address, 10)];
        var start = store.ObserveRevocationEpoch();
        Assert.NotNull(start);

        var first = await store.ReserveAttemptAsync(counters, Now, Window, Cancel);
        var second = await store.ReserveAttemptAsync(counters, Now, Window, Cancel);
        await Task.Delay(EpochLag / 4, Cancel);
        Assert.Equal(start, store.ObserveRevocationEpoch());

        var third = await store.ReserveAttemptAsync(counters, Now, Window, Cancel);
        var moved = await EpochAfterAsync(store, start);
        var refused = await store.ReserveAttemptAsync(counters, Now, Window, Cancel);
        await Task.Delay(EpochLag / 4, Cancel);

        Assert.Empty(first.BlocksStarted);
        Assert.Empty(second.BlocksStarted);
        Assert.Equal([0], third.BlocksStarted);
        Assert.NotEqual(start, moved);
        Assert.False(refused.Allowed);
        Assert.Equal(moved, store.ObserveRevocationEpoch());
    }

    [Fact(Timeout = TestTimeout)]
    public async Task List_returns_the_counters_within_the_window_highest_count_first()
    {
        await using var store = await CreateStoreAsync();
        var old = PairOf(Bob);
        await store.ReserveAttemptAsync([old], Now - Window, Window, Cancel);
        for (var i = 0; i < 3; i++)
        {
            await store.ReserveAttemptAsync([AttemptCounter.ForClient(Address, 50)], Now - 5, Window, Cancel);
        }

        await store.ReserveAttemptAsync([PairOf(), AttemptCounter.Account(Alice, 100)], Now - 2, Window, Cancel);
        await store.ReserveAttemptAsync([AttemptCounter.Account(Alice, 100)], Now - 1, Window, Cancel);

        var listed = await store.ListAttemptCountersAsync(Now, Window, 10, Cancel);
        var top = await store.ListAttemptCountersAsync(Now, Window, 2, Cancel);

        Assert.Equal(
            [
                new AttemptCounterState(AttemptScope.Client, "", Address, 3, Now - 5),
                new AttemptCounterState(AttemptScope.Account, Alice, "", 2, Now - 1),
                new AttemptCounterState(AttemptScope.Pair, Alice, Address, 1, Now - 2),
            ],
            listed);
        Assert.Equal(listed.Take(2), top);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Clear_deletes_the_counters_of_a_username_or_of_a_client()
    {
        await using var store = await CreateStoreAsync();
        await store.ReserveAttemptAsync([PairOf(), AttemptCounter.ForClient(Address, 50), AttemptCounter.Account(Alice, 100)], Now, Window, Cancel);
        await store.ReserveAttemptAsync([PairOf(Bob), AttemptCounter.Account(Bob, 100)], Now, Window, Cancel);
        await store.ReserveAttemptAsync([PairOf(client: OtherAddress), AttemptCounter.ForClient(OtherAddress, 50)], Now, Window, Cancel);

        var byUsername = await store.ClearAttemptCountersAsync(Alice, null, Cancel);
        var byClient = await store.ClearAttemptCountersAsync(null, Address, Cancel);

        Assert.Equal(3, byUsername); // Alice's two pairs and her account counter
        Assert.Equal(2, byClient);   // Bob's pair at the address and the address's counter
        Assert.Equal(
            [(AttemptScope.Client, "", OtherAddress), (AttemptScope.Account, Bob, "")],
            (await store.ListAttemptCountersAsync(Now, Window, 10, Cancel)).Select(c => (c.Scope, c.Username, c.Client)).OrderBy(c => c.Scope));
        Assert.Equal(0, await store.ClearAttemptCountersAsync("digest-of-nobody", "198.51.100.1", Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Purge_deletes_old_counters_and_familiar_rows_in_batches()
    {
        await using var store = await CreateStoreAsync();
        for (var i = 0; i < 3; i++)
        {
            await store.ReserveAttemptAsync([AttemptCounter.ForClient($"10.0.0.{i}", 50)], Now - 2_000, Window, Cancel);
        }

        await store.ReserveAttemptAsync([AttemptCounter.ForClient("10.0.1.1", 50)], Now, Window, Cancel);
        await store.ReleaseAttemptAsync([], true, Alice, Address, Now - 100_000, Cancel);
        await store.ReleaseAttemptAsync([], true, Bob, Address, Now, Cancel);

        var first = await store.PurgeLoginStateAsync(Now - Window, Now - 50_000, 2, Cancel);
        var second = await store.PurgeLoginStateAsync(Now - Window, Now - 50_000, 2, Cancel);
        var third = await store.PurgeLoginStateAsync(Now - Window, Now - 50_000, 2, Cancel);

        Assert.Equal((3, 1, 0), (first, second, third));
        Assert.Equal(1, await CountOfAsync(store, AttemptCounter.ForClient("10.0.1.1", 50)));
        Assert.False(await store.IsFamiliarAsync(Alice, Address, 0, Cancel));
        Assert.True(await store.IsFamiliarAsync(Bob, Address, Now, Cancel));
        Assert.Equal(0, (await store.ReserveAttemptAsync([AttemptCounter.ForClient("10.0.0.0", 50)], Now - 1_900, Window, Cancel)).CountsBefore[0]);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Counters_and_familiar_addresses_survive_closing_and_reopening_the_store()
    {
        var store = await CreateStoreAsync();
        var pair = PairOf(blockAfter: 5);
        try
        {
            for (var i = 0; i < 5; i++)
            {
                await store.ReserveAttemptAsync([pair], Now, Window, Cancel);
            }

            await store.ReleaseAttemptAsync([], true, Alice, OtherAddress, Now, Cancel);
        }
        finally
        {
            await store.DisposeAsync();
        }

        await using var reopened = await OpenSecondStoreAsync(store);
        if (reopened is null)
        {
            return;
        }

        var refused = await reopened.ReserveAttemptAsync([pair], Now + 1, Window, Cancel);
        Assert.Equal((false, 5), (refused.Allowed, refused.CountsBefore[0]));
        Assert.True(await reopened.IsFamiliarAsync(Alice, OtherAddress, Now, Cancel));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_counter_whose_keys_do_not_fit_its_scope_or_that_is_given_twice_is_refused()
    {
        await using var store = await CreateStoreAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => store.ReserveAttemptAsync([new AttemptCounter(AttemptScope.Client, Alice, Address, 5)], Now, Window, Cancel).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => store.ReserveAttemptAsync([PairOf(client: "")], Now, Window, Cancel).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => store.ReserveAttemptAsync([PairOf(), PairOf()], Now, Window, Cancel).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.ReserveAttemptAsync([PairOf(blockAfter: 0)], Now, Window, Cancel).AsTask());
        Assert.Empty(await store.ListAttemptCountersAsync(Now, Window, 10, Cancel));
    }

    private static async Task<long?> EpochAfterAsync(ITokenGateStore store, long? before)
    {
        var watch = Stopwatch.StartNew();
        long? after;
        while ((after = store.ObserveRevocationEpoch()) == before && watch.Elapsed < EpochLag)
        {
            await Task.Delay(10, Cancel);
        }

        return after;
    }
}
