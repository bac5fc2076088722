using System.Collections.Concurrent;
using System.Net;

namespace TokenGate.Server.Security;

/// <summary>
/// The one way into a password check (PBKDF2): at most <see cref="PasswordOptions.HashConcurrency"/> checks run at once, a
/// check waits at most <see cref="PasswordOptions.HashWait"/> for its turn (asynchronously: a waiting request holds no thread),
/// and then it is refused with 503 <c>Service unavailable</c>. A caller (client address) that already has that many checks
/// running or waiting is refused at once with 429: it is the one flooding. So a wrong-password flood can take at most N cores,
/// and <c>validate</c>, remembered <c>get</c>s and everything else keep the rest of the machine.
/// </summary>
public sealed class PasswordHashingQueue
{
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<IPAddress, int> _queuedByCaller = new();
    private readonly TimeSpan _wait;
    private readonly int _perCaller;

    public PasswordHashingQueue(PasswordOptions options)
    {
        Concurrency = options.ResolvedHashConcurrency;
        _slots = new SemaphoreSlim(Concurrency, Concurrency);
        _wait = options.HashWait;
        _perCaller = Concurrency;
    }

    /// <summary>How many password checks may run at once.</summary>
    public int Concurrency { get; }

    /// <summary>
    /// Waits for a turn for <paramref name="caller"/>; dispose the result when the check is done. Throws
    /// <see cref="PasswordHashingBusyException"/> when the caller already has its share queued or no turn came in time.
    /// </summary>
    public async ValueTask<Turn> EnterAsync(IPAddress caller, CancellationToken cancellationToken)
    {
        if (_queuedByCaller.AddOrUpdate(caller, 1, (_, count) => count + 1) > _perCaller)
        {
            Leave(caller);
            throw new PasswordHashingBusyException(callerFlooding: true);
        }

        bool entered;
        try
        {
            entered = await _slots.WaitAsync(_wait, cancellationToken);
        }
        catch
        {
            Leave(caller);
            throw;
        }

        if (!entered)
        {
            Leave(caller);
            throw new PasswordHashingBusyException(callerFlooding: false);
        }

        return new Turn(this, caller);
    }

    private void Leave(IPAddress caller)
    {
        // Removes the entry when it reaches zero, so the map holds only callers with checks in flight.
        while (true)
        {
            var count = _queuedByCaller.GetValueOrDefault(caller);
            if (count <= 1)
            {
                if (_queuedByCaller.TryRemove(new KeyValuePair<IPAddress, int>(caller, count)))
                {
                    return;
                }
            }
            else if (_queuedByCaller.TryUpdate(caller, count - 1, count))
            {
                return;
            }
        }
    }

    /// <summary>A turn at the password hasher; disposing it lets the next waiter in.</summary>
    public sealed class Turn(PasswordHashingQueue queue, IPAddress caller) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                queue._slots.Release();
                queue.Leave(caller);
            }
        }
    }
}

/// <summary>
/// A password check refused before it ran: 429 (with <c>Retry-After</c>) when <see cref="CallerFlooding"/>, else 503
/// <c>Service unavailable</c> (with <c>Retry-After</c>). Not a failed login: nothing was checked.
/// </summary>
public sealed class PasswordHashingBusyException(bool callerFlooding)
    : Exception(callerFlooding ? "This client has too many password checks in flight." : "Every password check slot stayed busy.")
{
    public bool CallerFlooding { get; } = callerFlooding;

    /// <summary>The <c>Retry-After</c> value, in seconds: a turn comes round in well under a second once the flood eases.</summary>
    public const string RetryAfterSeconds = "1";
}
