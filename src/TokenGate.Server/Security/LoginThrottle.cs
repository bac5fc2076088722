using System.Collections.Concurrent;
using System.Net;

namespace TokenGate.Server.Security;

/// <summary>
/// Brute-force protection for <c>get</c> and <c>newpass</c>. Failed attempts are counted per (username, client IP) and per client
/// IP, each in a sliding window. Past the delay threshold a caller's next attempts wait (exponentially longer, capped); past the
/// block threshold they are refused with 429 until the window has passed since the last failure. Because the per-user count is
/// keyed by the client IP too, an attacker failing from one address never locks the real user out from another; and a
/// correct login from a clean address is never slowed. A success clears that (username, IP) count, never the per-IP one, so an
/// attacker cannot reset it by logging into an account of their own.
/// </summary>
public sealed class LoginThrottle(LoginThrottleOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<(string? User, IPAddress Client), Failures> _failures = new();

    /// <summary>What to do with an attempt before checking its credentials.</summary>
    public ThrottleDecision Check(string? username, IPAddress client)
    {
        if (!options.Enabled)
        {
            return ThrottleDecision.Allow;
        }

        var now = time.GetTimestamp();
        var perUser = Read((Normalize(username), client), now);
        var perClient = Read((null, client), now);

        if (perUser.Count >= options.BlockAfter || perClient.Count >= options.BlockAfterPerClient)
        {
            var last = Math.Max(perUser.Count >= options.BlockAfter ? perUser.LastFailure : 0, perClient.Count >= options.BlockAfterPerClient ? perClient.LastFailure : 0);
            var retryAfter = options.Window - time.GetElapsedTime(last, now);
            return ThrottleDecision.Block(retryAfter > TimeSpan.Zero ? retryAfter : TimeSpan.FromSeconds(1));
        }

        var excess = Math.Max(perUser.Count - options.DelayAfter, perClient.Count - options.DelayAfterPerClient);
        if (excess < 0)
        {
            return ThrottleDecision.Allow;
        }

        var delay = options.BaseDelay * Math.Pow(2, Math.Min(excess, 16));
        return ThrottleDecision.Wait(delay < options.MaxDelay ? delay : options.MaxDelay);
    }

    public void RecordFailure(string? username, IPAddress client)
    {
        if (!options.Enabled)
        {
            return;
        }

        var now = time.GetTimestamp();
        if (_failures.Count >= options.MaxTrackedKeys)
        {
            Prune(now);
        }

        Add((Normalize(username), client), now);
        Add((null, client), now);
    }

    public void RecordSuccess(string? username, IPAddress client)
    {
        if (options.Enabled)
        {
            _failures.TryRemove((Normalize(username), client), out _);
        }
    }

    /// <summary>The username as counted: it is only a dictionary key, never logged; over-long ones are cut so the key stays small.</summary>
    private static string Normalize(string? username) => username is null ? string.Empty : username.Length <= 128 ? username : username[..128];

    private Failures Read((string? User, IPAddress Client) key, long now) =>
        _failures.TryGetValue(key, out var failures) && time.GetElapsedTime(failures.LastFailure, now) < options.Window ? failures : default;

    private void Add((string? User, IPAddress Client) key, long now) =>
        _failures.AddOrUpdate(
            key,
            _ => new Failures(1, now),
            (_, old) => time.GetElapsedTime(old.LastFailure, now) < options.Window ? new Failures(old.Count + 1, now) : new Failures(1, now));

    /// <summary>Forgets windows that have passed; if that is not enough (a flood from many addresses), forgets the oldest tenth.</summary>
    private void Prune(long now)
    {
        foreach (var (key, failures) in _failures)
        {
            if (time.GetElapsedTime(failures.LastFailure, now) >= options.Window)
            {
                _failures.TryRemove(key, out _);
            }
        }

        if (_failures.Count >= options.MaxTrackedKeys)
        {
            foreach (var (key, _) in _failures.OrderBy(entry => entry.Value.LastFailure).Take(options.MaxTrackedKeys / 10))
            {
                _failures.TryRemove(key, out _);
            }
        }
    }

    private readonly record struct Failures(int Count, long LastFailure);
}

public readonly record struct ThrottleDecision(ThrottleAction Action, TimeSpan Duration)
{
    public static readonly ThrottleDecision Allow = new(ThrottleAction.Allow, TimeSpan.Zero);

    public static ThrottleDecision Wait(TimeSpan delay) => new(ThrottleAction.Delay, delay);

    public static ThrottleDecision Block(TimeSpan retryAfter) => new(ThrottleAction.Block, retryAfter);
}

public enum ThrottleAction
{
    Allow,
    Delay,
    Block,
}
