using System.Net;

namespace TokenGate.Server.Security;

/// <summary>
/// The one way into a password check (PBKDF2): at most <see cref="PasswordOptions.HashConcurrency"/> checks run at once, a
/// check waits at most <see cref="PasswordOptions.HashWait"/> for its turn (asynchronously: a waiting request holds no thread),
/// and then it is refused with 503 <c>Service unavailable</c>. So a wrong-password flood can take at most N cores, and
/// <c>validate</c>, remembered <c>get</c>s and everything else keep the rest of the machine.
/// <para>
/// Turns go round the callers (client addresses; an IPv6 address by its /64, as the login throttle counts it): each caller
/// that waits has a queue of its own, and a freed turn goes to the oldest waiter of the next caller in the rotation, so an
/// address that sends hundreds of checks at once gets one turn in every round, not all of them.
/// </para>
/// <para>
/// Being concurrent is never a reason to refuse: one application server getting tokens for many machines at once waits its
/// turns like anyone (Keycloak's defence against parallel guessing refused valid concurrent logins; this one must not). The
/// caller that floods is the one guessing: its recent checks here (<see cref="OutcomeWindow"/>) failed at least as often as
/// they passed. While no turn is free, such a caller may have at most <see cref="Concurrency"/> checks running or waiting:
/// beyond that it is answered 429 at once, and a failure it makes drops its waiters beyond that share with 429.
/// </para>
/// <para>
/// Bounded: the callers held are those with checks running or waiting; at most <see cref="MaxWaiters"/> checks wait (beyond,
/// 503 at once); the outcomes are kept for <see cref="MaxRememberedCallers"/> callers at most (the oldest window is dropped).
/// </para>
/// </summary>
public sealed class PasswordHashingQueue
{
    /// <summary>Checks that may wait at once, all callers together; beyond it the answer is 503 at once.</summary>
    public const int MaxWaiters = 4096;

    /// <summary>Callers whose recent outcomes are kept; beyond it the oldest window is forgotten.</summary>
    public const int MaxRememberedCallers = 10_000;

    /// <summary>How long a caller's outcomes count: a window starts with its first outcome.</summary>
    public static readonly TimeSpan OutcomeWindow = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Caller> _callers = new(StringComparer.Ordinal);
    private readonly LinkedList<Caller> _rotation = new();
    private readonly Dictionary<string, LinkedListNode<Outcomes>> _outcomes = new(StringComparer.Ordinal);
    private readonly LinkedList<Outcomes> _outcomesByAge = new();
    private readonly TimeSpan _wait;
    private readonly TimeProvider _time;
    private readonly int _ipv6Prefix;
    private int _free;
    private int _waiting;

    /// <param name="options">The concurrency and the wait.</param>
    /// <param name="time">The clock of the wait and of the outcome windows.</param>
    /// <param name="ipv6Prefix">IPv6 callers are one caller per prefix of this length (the throttle's <c>LoginIpv6Prefix</c>).</param>
    public PasswordHashingQueue(PasswordOptions options, TimeProvider? time = null, int ipv6Prefix = 128)
    {
        Concurrency = options.ResolvedHashConcurrency;
        _free = Concurrency;
        _wait = options.HashWait;
        _time = time ?? TimeProvider.System;
        _ipv6Prefix = ipv6Prefix;
    }

    /// <summary>How many password checks may run at once; also the share of a guessing caller while the queue is full.</summary>
    public int Concurrency { get; }

    /// <summary>Callers with checks running or waiting (for tests: zero once every turn has ended).</summary>
    public int CallersHeld
    {
        get
        {
            lock (_lock)
            {
                return _callers.Count;
            }
        }
    }

    /// <summary>Checks waiting for a turn.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting;
            }
        }
    }

    /// <summary>Callers whose outcomes are kept (at most <see cref="MaxRememberedCallers"/>).</summary>
    public int CallersRemembered
    {
        get
        {
            lock (_lock)
            {
                return _outcomes.Count;
            }
        }
    }

    /// <summary>Turns not taken.</summary>
    public int FreeTurns
    {
        get
        {
            lock (_lock)
            {
                return _free;
            }
        }
    }

    /// <summary>
    /// Waits for a turn for <paramref name="caller"/>; report the check's outcome on the turn and dispose it when the check is
    /// done. Throws <see cref="PasswordHashingBusyException"/> when the caller is guessing beyond its share of a full queue,
    /// when too many wait, or when no turn came in time; <see cref="OperationCanceledException"/> when cancelled while waiting.
    /// </summary>
    public async ValueTask<Turn> EnterAsync(IPAddress caller, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var key = LoginThrottle.ClientKey(caller, _ipv6Prefix);
        Waiter waiter;
        lock (_lock)
        {
            var state = CallerFor(key);
            if (_free > 0)
            {
                // A free turn means nobody waits: a turn that ends goes straight to a waiter when there is one.
                _free--;
                state.Running++;
                return new Turn(this, state);
            }

            if (IsGuessing(key) && state.Running + state.Waiters.Count >= Concurrency)
            {
                ForgetIfIdle(state);
                throw new PasswordHashingBusyException(callerFlooding: true);
            }

            if (_waiting >= MaxWaiters || _wait <= TimeSpan.Zero)
            {
                ForgetIfIdle(state);
                throw new PasswordHashingBusyException(callerFlooding: false);
            }

            waiter = new Waiter(this, state, cancellationToken);
            waiter.Node = state.Waiters.AddLast(waiter);
            if (state.InRotation is null)
            {
                state.InRotation = _rotation.AddLast(state);
            }

            _waiting++;
        }

        // Outside the lock: a token already cancelled runs its callback here, and the callback takes the lock.
        waiter.Timer = _time.CreateTimer(static w => ((Waiter)w!).Queue.Abandon((Waiter)w!, cancelled: false), waiter, _wait, Timeout.InfiniteTimeSpan);
        waiter.Registration = cancellationToken.Register(static w => ((Waiter)w!).Queue.Abandon((Waiter)w!, cancelled: true), waiter);
        try
        {
            return await waiter.Completion.Task;
        }
        finally
        {
            waiter.Timer.Dispose();
            await waiter.Registration.DisposeAsync();
        }
    }

    private Caller CallerFor(string key)
    {
        if (!_callers.TryGetValue(key, out var state))
        {
            state = new Caller(key);
            _callers.Add(key, state);
        }

        return state;
    }

    private void ForgetIfIdle(Caller state)
    {
        if (state.Running == 0 && state.Waiters.Count == 0)
        {
            _callers.Remove(state.Key);
        }
    }

    /// <summary>Takes a waiter out of its caller's queue (and its caller out of the rotation when none is left). Under the lock.</summary>
    private void Unqueue(Waiter waiter)
    {
        var state = waiter.State;
        state.Waiters.Remove(waiter.Node!);
        waiter.Node = null;
        _waiting--;
        if (state.Waiters.Count == 0 && state.InRotation is { } node)
        {
            _rotation.Remove(node);
            state.InRotation = null;
        }
    }

    /// <summary>The wait ran out or the request was cancelled: the waiter leaves unless it was given its turn already.</summary>
    private void Abandon(Waiter waiter, bool cancelled)
    {
        lock (_lock)
        {
            if (waiter.Node is null)
            {
                return;
            }

            Unqueue(waiter);
            ForgetIfIdle(waiter.State);
        }

        if (cancelled)
        {
            waiter.Completion.TrySetCanceled(waiter.CancellationToken);
        }
        else
        {
            waiter.Completion.TrySetException(new PasswordHashingBusyException(callerFlooding: false));
        }
    }

    private void Leave(Caller state, bool? passed)
    {
        Waiter? next = null;
        List<Waiter>? refused = null;
        lock (_lock)
        {
            state.Running--;
            if (passed is { } outcome && Record(state.Key, outcome) && state.Waiters.Count > 0)
            {
                // A failure made the caller a guesser while its checks wait (the queue is full): beyond its share they go,
                // the newest first.
                while (state.Waiters.Count > 0 && state.Running + state.Waiters.Count > Concurrency)
                {
                    var newest = state.Waiters.Last!.Value;
                    Unqueue(newest);
                    (refused ??= []).Add(newest);
                }
            }

            if (_rotation.First is { } head)
            {
                // The turn passes straight to the oldest waiter of the caller whose round it is; that caller goes to the back.
                var turnOf = head.Value;
                next = turnOf.Waiters.First!.Value;
                turnOf.Running++;
                Unqueue(next);
                if (turnOf.InRotation is { } stillWaiting)
                {
                    _rotation.Remove(stillWaiting);
                    _rotation.AddLast(stillWaiting);
                }
            }
            else
            {
                _free++;
            }

            ForgetIfIdle(state);
        }

        next?.Completion.TrySetResult(new Turn(this, next.State));
        foreach (var waiter in refused ?? [])
        {
            waiter.Completion.TrySetException(new PasswordHashingBusyException(callerFlooding: true));
        }
    }

    /// <summary>Whether the caller's checks in its current window failed at least as often as they passed. Under the lock.</summary>
    private bool IsGuessing(string key)
    {
        if (!_outcomes.TryGetValue(key, out var node))
        {
            return false;
        }

        var outcomes = node.Value;
        if (_time.GetUtcNow() - outcomes.WindowStart >= OutcomeWindow)
        {
            return false;
        }

        return outcomes.Failed > 0 && outcomes.Failed >= outcomes.Passed;
    }

    /// <summary>Counts an outcome in the caller's window; whether the caller is now guessing. Under the lock.</summary>
    private bool Record(string key, bool passed)
    {
        var now = _time.GetUtcNow();

        // The windows are in the order they started: the expired ones are at the front.
        while (_outcomesByAge.First is { } oldest && now - oldest.Value.WindowStart >= OutcomeWindow)
        {
            _outcomesByAge.RemoveFirst();
            _outcomes.Remove(oldest.Value.Key);
        }

        if (!_outcomes.TryGetValue(key, out var node))
        {
            if (_outcomes.Count >= MaxRememberedCallers)
            {
                var oldest = _outcomesByAge.First!;
                _outcomesByAge.RemoveFirst();
                _outcomes.Remove(oldest.Value.Key);
            }

            node = _outcomesByAge.AddLast(new Outcomes(key, now));
            _outcomes.Add(key, node);
        }

        var outcomes = node.Value;
        if (passed)
        {
            outcomes.Passed++;
        }
        else
        {
            outcomes.Failed++;
        }

        return outcomes.Failed > 0 && outcomes.Failed >= outcomes.Passed;
    }

    /// <summary>A turn at the password hasher; disposing it lets the next waiter in.</summary>
    public sealed class Turn : IDisposable
    {
        private readonly PasswordHashingQueue _queue;
        private readonly Caller _caller;
        private bool? _passed;
        private int _disposed;

        internal Turn(PasswordHashingQueue queue, Caller caller)
        {
            _queue = queue;
            _caller = caller;
        }

        /// <summary>The check's outcome: failures make a caller a guesser (see <see cref="PasswordHashingQueue"/>).</summary>
        public void Report(bool passed) => _passed = passed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _queue.Leave(_caller, _passed);
            }
        }
    }

    internal sealed class Caller(string key)
    {
        public string Key { get; } = key;

        public int Running { get; set; }

        public LinkedList<Waiter> Waiters { get; } = new();

        public LinkedListNode<Caller>? InRotation { get; set; }
    }

    internal sealed class Waiter(PasswordHashingQueue queue, Caller state, CancellationToken cancellationToken)
    {
        public PasswordHashingQueue Queue { get; } = queue;

        public Caller State { get; } = state;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public TaskCompletionSource<Turn> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public ITimer Timer { get; set; } = null!;

        public CancellationTokenRegistration Registration { get; set; }
    }

    private sealed class Outcomes(string key, DateTimeOffset windowStart)
    {
        public string Key { get; } = key;

        public DateTimeOffset WindowStart { get; } = windowStart;

        public int Failed { get; set; }

        public int Passed { get; set; }
    }
}

/// <summary>
/// A password check refused before it ran: 429 (with <c>Retry-After</c>) when <see cref="CallerFlooding"/>, else 503
/// <c>Service unavailable</c> (with <c>Retry-After</c>). Not a failed login: nothing was checked.
/// </summary>
public sealed class PasswordHashingBusyException(bool callerFlooding)
    : Exception(callerFlooding ? "This client is guessing beyond its share of the password checks." : "Every password check slot stayed busy.")
{
    public bool CallerFlooding { get; } = callerFlooding;

    /// <summary>The <c>Retry-After</c> value, in seconds: a turn comes round in well under a second once the flood eases.</summary>
    public const string RetryAfterSeconds = "1";
}
