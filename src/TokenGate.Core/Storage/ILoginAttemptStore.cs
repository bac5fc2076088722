namespace TokenGate.Storage;

/// <summary>The three kinds of login-attempt counter: per (username, client), per client, per username (account-wide).</summary>
public enum AttemptScope
{
    Pair = 0,
    Client = 1,
    Account = 2,
}

/// <summary>
/// One counter an attempt touches. <see cref="Username"/> is an opaque key chosen by the caller (the gate passes a SHA-256 hex of
/// the username, never the raw text, so the table names no account), "" when the scope has none; <see cref="Client"/> is an
/// address key ("192.0.2.7" or "2001:db8:1:2::/64"), "" when the scope has none. Pair = (Username, Client); Client = ("", Client);
/// Account = (Username, ""). <see cref="BlockAfter"/> is the count at which the counter starts refusing.
/// </summary>
public readonly record struct AttemptCounter(AttemptScope Scope, string Username, string Client, int BlockAfter)
{
    public static AttemptCounter Pair(string username, string client, int blockAfter) => new(AttemptScope.Pair, username, client, blockAfter);

    public static AttemptCounter ForClient(string client, int blockAfter) => new(AttemptScope.Client, "", client, blockAfter);

    public static AttemptCounter Account(string username, int blockAfter) => new(AttemptScope.Account, username, "", blockAfter);
}

/// <summary>
/// The outcome of <see cref="ILoginAttemptStore.ReserveAttemptAsync"/>. <see cref="CountsBefore"/> holds, per counter in the order
/// given, its count within the window before this attempt. When refused, <see cref="RefusedIndex"/> is the first counter at or
/// over its limit and <see cref="RetryAfterSeconds"/> how long until its window passes (at least 1); when allowed they are -1 and
/// 0. <see cref="BlocksStarted"/> lists the counters this attempt brought to exactly their <see cref="AttemptCounter.BlockAfter"/>
/// (the moment a limit starts refusing: the caller audits it).
/// </summary>
public sealed record AttemptReservation(
    bool Allowed,
    IReadOnlyList<int> CountsBefore,
    int RefusedIndex,
    long RetryAfterSeconds,
    IReadOnlyList<int> BlocksStarted);

/// <summary>A counter as operators see it (<c>tokengate throttle list</c>); <see cref="LastAt"/> is Unix seconds.</summary>
public sealed record AttemptCounterState(AttemptScope Scope, string Username, string Client, int Count, long LastAt);

/// <summary>
/// Login-attempt counters and familiar addresses, kept in the store so that every instance on a database shares them and a
/// restart forgets nothing (issue 14). An attempt is reserved (counted as a failure) before the credential check and released
/// when it succeeds, so attempts in flight count. Times are Unix seconds. A store that cannot reach its database throws
/// <see cref="StorageUnavailableException"/>; the caller then refuses the guess (fails closed).
/// </summary>
public interface ILoginAttemptStore
{
    /// <summary>
    /// Atomically (across threads, processes and instances on one database): counters whose last attempt is older than the
    /// window count as 0. If any counter's count is at or over its BlockAfter: refused, nothing written. Otherwise every counter
    /// is incremented (created at 1, or restarted at 1 if its window passed) with last_at = <paramref name="now"/> (the attempt
    /// counts as a failure until it is released) and if any counter reaches exactly its BlockAfter, the revocation epoch moves
    /// in the same transaction (so every instance's caches keyed by it are dropped).
    /// </summary>
    ValueTask<AttemptReservation> ReserveAttemptAsync(IReadOnlyList<AttemptCounter> counters, long now, long windowSeconds, CancellationToken cancellationToken);

    /// <summary>
    /// The attempt succeeded: the Pair counters are deleted (only decremented when <paramref name="forgetPairs"/> is false), the
    /// others decremented by one (never below 0), in one transaction.
    /// When <paramref name="familiarUsername"/> and <paramref name="familiarClient"/> are given, records that client as familiar
    /// to that username at <paramref name="now"/>, but writes nothing for it when a familiar row has a last success within the
    /// last day (a success from a familiar address must not write per request). Writes nothing when there is nothing to change.
    /// </summary>
    ValueTask ReleaseAttemptAsync(IReadOnlyList<AttemptCounter> counters, bool forgetPairs, string? familiarUsername, string? familiarClient, long now, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="client"/> is familiar to <paramref name="username"/>: it had a success at or after <paramref name="since"/>.</summary>
    ValueTask<bool> IsFamiliarAsync(string username, string client, long since, CancellationToken cancellationToken);

    /// <summary>Counters whose last attempt is within the window at <paramref name="now"/>, highest count first, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<AttemptCounterState>> ListAttemptCountersAsync(long now, long windowSeconds, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes the counters of a username key (Pair and Account) and/or of a client key (Pair and Client); returns how many.</summary>
    ValueTask<int> ClearAttemptCountersAsync(string? username, string? client, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes at most <paramref name="batchSize"/> counters last touched before <paramref name="countersBefore"/> and at most as
    /// many familiar rows last successful before <paramref name="familiarBefore"/>; returns how many. One short transaction per
    /// call (the sweeper calls it until it returns 0).
    /// </summary>
    ValueTask<int> PurgeLoginStateAsync(long countersBefore, long familiarBefore, int batchSize, CancellationToken cancellationToken);
}

/// <summary>The rules of <see cref="ILoginAttemptStore"/> that do not depend on a backend, so that every store applies them alike.</summary>
public static class LoginAttempts
{
    /// <summary>A success from a familiar address writes its row again only when the last one is older than this.</summary>
    public const long FamiliarRefreshSeconds = 86_400;

    /// <summary>
    /// Decides a reservation from each counter's stored (count, last_at), null when it has no row. Counters whose window
    /// passed count as 0. Returns the reservation and, when allowed, each counter's count after it.
    /// </summary>
    public static AttemptReservation Decide(
        IReadOnlyList<AttemptCounter> counters, IReadOnlyList<(int Count, long LastAt)?> stored, long now, long windowSeconds, out int[] countsAfter)
    {
        var before = new int[counters.Count];
        for (var i = 0; i < counters.Count; i++)
        {
            before[i] = stored[i] is { } row && row.LastAt > now - windowSeconds ? row.Count : 0;
        }

        for (var i = 0; i < counters.Count; i++)
        {
            if (before[i] >= counters[i].BlockAfter)
            {
                countsAfter = before;
                var retryAfter = Math.Max(1, stored[i]!.Value.LastAt + windowSeconds - now);
                return new AttemptReservation(false, before, i, retryAfter, []);
            }
        }

        countsAfter = new int[counters.Count];
        var blocksStarted = new List<int>();
        for (var i = 0; i < counters.Count; i++)
        {
            countsAfter[i] = before[i] + 1;
            if (countsAfter[i] == counters[i].BlockAfter)
            {
                blocksStarted.Add(i);
            }
        }

        return new AttemptReservation(true, before, -1, 0, blocksStarted);
    }

    /// <summary>
    /// Throws unless every counter's keys fit its scope, its limit is positive and no counter is given twice: the stores rely on
    /// it (a counter given twice would be counted twice, and PostgreSQL refuses to upsert one row twice in a statement).
    /// </summary>
    public static void Validate(IReadOnlyList<AttemptCounter> counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        var seen = new HashSet<(AttemptScope, string, string)>();
        foreach (var counter in counters)
        {
            ArgumentNullException.ThrowIfNull(counter.Username, nameof(counters));
            ArgumentNullException.ThrowIfNull(counter.Client, nameof(counters));
            ArgumentOutOfRangeException.ThrowIfLessThan(counter.BlockAfter, 1, nameof(counters));
            var fits = counter.Scope switch
            {
                AttemptScope.Pair => counter.Username.Length > 0 && counter.Client.Length > 0,
                AttemptScope.Client => counter.Username.Length == 0 && counter.Client.Length > 0,
                AttemptScope.Account => counter.Username.Length > 0 && counter.Client.Length == 0,
                _ => false,
            };
            if (!fits)
            {
                throw new ArgumentException($"A {counter.Scope} counter with these keys does not fit its scope.", nameof(counters));
            }

            if (!seen.Add((counter.Scope, counter.Username, counter.Client)))
            {
                throw new ArgumentException("A counter is given twice.", nameof(counters));
            }
        }
    }
}
