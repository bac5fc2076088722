using System.Net;
using TokenGate.Server.Security;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// The rules of the password hashing queue, on the queue itself: turns go round the callers; concurrency alone is never
/// refused; the caller whose checks fail is held to its share while the queue is full (429); a wait that ends (in time or
/// cancelled) gives back everything it held; and what the queue holds is bounded.
/// </summary>
public sealed class PasswordHashingQueueRuleTests
{
    private static readonly IPAddress A = IPAddress.Parse("10.1.0.1");
    private static readonly IPAddress B = IPAddress.Parse("10.1.0.2");
    private static readonly IPAddress C = IPAddress.Parse("10.1.0.3");

    [Fact]
    public async Task Freed_turns_go_round_the_waiting_callers_oldest_waiter_first()
    {
        var queue = Queue(concurrency: 1);
        var holder = await queue.EnterAsync(IPAddress.Parse("10.1.0.9"), CancellationToken.None);
        var order = new List<string>();
        var waiters = new List<(string Name, ValueTask<PasswordHashingQueue.Turn> Turn)>
        {
            ("A1", queue.EnterAsync(A, CancellationToken.None)),
            ("A2", queue.EnterAsync(A, CancellationToken.None)),
            ("A3", queue.EnterAsync(A, CancellationToken.None)),
            ("B1", queue.EnterAsync(B, CancellationToken.None)),
            ("B2", queue.EnterAsync(B, CancellationToken.None)),
            ("C1", queue.EnterAsync(C, CancellationToken.None)),
        };
        Assert.Equal(6, queue.Waiting);

        var pending = waiters.Select(w => (w.Name, Task: w.Turn.AsTask())).ToList();
        holder.Dispose();
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending.Select(p => p.Task)).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            var granted = pending.Single(p => p.Task == done);
            pending.Remove(granted);
            order.Add(granted.Name);
            (await granted.Task).Dispose();
        }

        Assert.Equal(["A1", "B1", "C1", "A2", "B2", "A3"], order);
        AssertEmpty(queue);
    }

    [Fact]
    public async Task Many_concurrent_checks_from_one_caller_that_passes_all_wait_their_turn_and_none_is_refused()
    {
        var queue = Queue(concurrency: 1);
        var inside = 0;
        var most = 0;

        await Task.WhenAll(Enumerable.Range(0, 500).Select(async _ =>
        {
            using var turn = await queue.EnterAsync(A, CancellationToken.None);
            most = Math.Max(most, Interlocked.Increment(ref inside));
            await Task.Yield();
            Interlocked.Decrement(ref inside);
            turn.Report(passed: true);
        }));

        Assert.Equal(1, most);
        AssertEmpty(queue);
    }

    [Fact]
    public async Task A_caller_whose_checks_fail_is_refused_with_429_beyond_its_share_only_while_no_turn_is_free()
    {
        var queue = Queue(concurrency: 2);
        var first = await queue.EnterAsync(A, CancellationToken.None);
        first.Report(passed: false);
        first.Dispose();

        // A turn is free: the guesser gets it.
        var one = await queue.EnterAsync(A, CancellationToken.None);
        var two = await queue.EnterAsync(A, CancellationToken.None);

        // None is free and it already holds its share: 429 at once, while a caller without failures waits.
        var refused = await Assert.ThrowsAsync<PasswordHashingBusyException>(async () => await queue.EnterAsync(A, CancellationToken.None));
        Assert.True(refused.CallerFlooding);
        var innocent = queue.EnterAsync(B, CancellationToken.None).AsTask();
        Assert.False(innocent.IsCompleted);

        one.Dispose();
        (await innocent.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Dispose();
        two.Dispose();
        AssertEmpty(queue);
    }

    [Fact]
    public async Task A_failure_drops_the_callers_waiters_beyond_its_share_with_429_and_leaves_other_callers_waiting()
    {
        var queue = Queue(concurrency: 1);
        var running = await queue.EnterAsync(A, CancellationToken.None);
        var floodWaiting = Enumerable.Range(0, 20).Select(_ => queue.EnterAsync(A, CancellationToken.None).AsTask()).ToList();
        var other = queue.EnterAsync(B, CancellationToken.None).AsTask();
        Assert.Equal(21, queue.Waiting);

        running.Report(passed: false);
        running.Dispose();

        // A's share is one check running or waiting: its 19 newest waiters are refused, and the turn goes round to A's oldest.
        await Task.WhenAll(floodWaiting).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.False(other.IsCompleted);
        var refused = 0;
        foreach (var task in floodWaiting.Where(t => t.IsFaulted))
        {
            var error = await Assert.ThrowsAsync<PasswordHashingBusyException>(() => task);
            Assert.True(error.CallerFlooding);
            refused++;
        }

        Assert.Equal(19, refused);
        var kept = floodWaiting.Single(t => !t.IsFaulted);
        (await kept.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Dispose();
        (await other.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Dispose();
        AssertEmpty(queue);
    }

    [Fact]
    public async Task A_caller_whose_checks_mostly_pass_is_never_refused_and_failures_are_forgotten_after_their_window()
    {
        var time = new ManualTimeProvider();
        var queue = Queue(concurrency: 1, time: time);

        // The application server: one typo among its logins is not guessing.
        foreach (var passed in new[] { true, true, false })
        {
            using var turn = await queue.EnterAsync(A, CancellationToken.None);
            turn.Report(passed);
        }

        var running = await queue.EnterAsync(A, CancellationToken.None);
        var waiting = queue.EnterAsync(A, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        running.Report(passed: false);
        running.Dispose();

        // Now as many failures as passes: a guesser, held to its share while the queue is full.
        var held = await waiting.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await Assert.ThrowsAsync<PasswordHashingBusyException>(async () => await queue.EnterAsync(A, CancellationToken.None));

        // A minute on, its failures are forgotten: it waits like anyone.
        time.Advance(PasswordHashingQueue.OutcomeWindow);
        var again = queue.EnterAsync(A, CancellationToken.None).AsTask();
        Assert.False(again.IsCompleted);
        held.Dispose();
        (await again.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Dispose();
        AssertEmpty(queue);
    }

    [Fact]
    public async Task A_cancelled_wait_gives_back_its_place_and_its_caller_and_the_turn_goes_to_the_next()
    {
        var queue = Queue(concurrency: 1);
        var holder = await queue.EnterAsync(A, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = queue.EnterAsync(B, cancel.Token).AsTask();
        var next = queue.EnterAsync(C, CancellationToken.None).AsTask();
        Assert.Equal(3, queue.CallersHeld);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(1, queue.Waiting);
        Assert.Equal(2, queue.CallersHeld);

        holder.Dispose();
        (await next.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Dispose();
        AssertEmpty(queue);
    }

    [Fact]
    public async Task A_wait_that_runs_out_is_503_and_gives_back_everything_it_held()
    {
        var queue = Queue(concurrency: 1, wait: TimeSpan.FromMilliseconds(50));
        var holder = await queue.EnterAsync(A, CancellationToken.None);

        var error = await Assert.ThrowsAsync<PasswordHashingBusyException>(async () => await queue.EnterAsync(B, CancellationToken.None));
        Assert.False(error.CallerFlooding);
        Assert.Equal(0, queue.Waiting);
        Assert.Equal(1, queue.CallersHeld);

        holder.Dispose();
        AssertEmpty(queue);
    }

    [Fact]
    public async Task Cancellations_racing_with_turns_leak_no_turn_and_no_caller()
    {
        var queue = Queue(concurrency: 2);
        var granted = 0;
        var random = new Random(25);
        var delays = Enumerable.Range(0, 2000).Select(_ => random.Next(0, 3)).ToArray();

        await Task.WhenAll(Enumerable.Range(0, 2000).Select(async i =>
        {
            using var cancel = new CancellationTokenSource();
            var caller = IPAddress.Parse($"10.2.{i % 7}.1");
            var entering = queue.EnterAsync(caller, cancel.Token).AsTask();
            if (i % 3 == 0)
            {
                await Task.Delay(delays[i]);
                await cancel.CancelAsync();
            }

            try
            {
                using var turn = await entering;
                Interlocked.Increment(ref granted);
                await Task.Yield();
                turn.Report(passed: i % 2 == 0);
            }
            catch (OperationCanceledException)
            {
            }
            catch (PasswordHashingBusyException)
            {
            }
        }));

        Assert.True(granted > 0);
        AssertEmpty(queue);
    }

    [Fact]
    public async Task Beyond_the_cap_of_waiters_the_answer_is_503_at_once()
    {
        var queue = Queue(concurrency: 1);
        var holder = await queue.EnterAsync(A, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = Enumerable.Range(0, PasswordHashingQueue.MaxWaiters)
            .Select(i => queue.EnterAsync(IPAddress.Parse($"10.3.{i / 250}.{i % 250}"), cancel.Token).AsTask())
            .ToList();
        Assert.Equal(PasswordHashingQueue.MaxWaiters, queue.Waiting);

        var error = await Assert.ThrowsAsync<PasswordHashingBusyException>(async () => await queue.EnterAsync(B, CancellationToken.None));
        Assert.False(error.CallerFlooding);

        await cancel.CancelAsync();
        foreach (var task in waiting)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        }

        holder.Dispose();
        AssertEmpty(queue);
    }

    [Fact]
    public async Task The_outcomes_kept_are_bounded_and_expire()
    {
        var time = new ManualTimeProvider();
        var queue = Queue(concurrency: 1, time: time);
        for (var i = 0; i < PasswordHashingQueue.MaxRememberedCallers + 100; i++)
        {
            using var turn = await queue.EnterAsync(IPAddress.Parse($"10.4.{i / 250}.{i % 250}"), CancellationToken.None);
            turn.Report(passed: false);
        }

        Assert.Equal(PasswordHashingQueue.MaxRememberedCallers, queue.CallersRemembered);

        time.Advance(PasswordHashingQueue.OutcomeWindow);
        using (var turn = await queue.EnterAsync(A, CancellationToken.None))
        {
            turn.Report(passed: true);
        }

        Assert.Equal(1, queue.CallersRemembered);
        AssertEmpty(queue);
    }

    [Fact]
    public async Task IPv6_callers_are_one_caller_per_prefix()
    {
        var queue = Queue(concurrency: 1, ipv6Prefix: 64);
        var first = await queue.EnterAsync(IPAddress.Parse("2001:db8:1:2::1"), CancellationToken.None);
        var second = queue.EnterAsync(IPAddress.Parse("2001:db8:1:2::ffff"), CancellationToken.None).AsTask();
        Assert.Equal(1, queue.CallersHeld);

        first.Dispose();
        (await second.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Dispose();
        AssertEmpty(queue);
    }

    private static PasswordHashingQueue Queue(int concurrency, TimeSpan? wait = null, TimeProvider? time = null, int ipv6Prefix = 128) =>
        new(new PasswordOptions { HashConcurrency = concurrency, HashWait = wait ?? TimeSpan.FromSeconds(30) }, time, ipv6Prefix);

    private static void AssertEmpty(PasswordHashingQueue queue)
    {
        Assert.Equal(queue.Concurrency, queue.FreeTurns);
        Assert.Equal(0, queue.Waiting);
        Assert.Equal(0, queue.CallersHeld);
    }
}
