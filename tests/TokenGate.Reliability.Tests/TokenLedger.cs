using System.Collections.Concurrent;

namespace TokenGate.Reliability.Tests;

/// <summary>A token a client was handed: a complete HTTP 200 <c>get</c> answer with <c>success</c> true.</summary>
public sealed record Issued(string Account, string AddressSet, string Token, long Expire);

/// <summary>
/// Every token the clients of a test were handed, by value and by (account, address set), and every broken promise seen:
/// two different tokens for one account and address set while the first was unexpired, an acknowledged token that a later
/// answer no longer knows, a body that is not the contract's. Thread-safe; clients record as they go.
/// </summary>
public sealed class TokenLedger(TimeProvider? time = null)
{
    /// <summary>How far apart the test's clock and the server's expiry decision may be (both read the same system clock;
    /// <c>expire</c> has a resolution of one second).</summary>
    public static readonly TimeSpan ClockSlack = TimeSpan.FromSeconds(2);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Issued> _byToken = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Account, string AddressSet), Issued> _current = new();
    private readonly ConcurrentQueue<string> _violations = new();
    private int _handedOut;

    /// <summary>Distinct tokens handed out.</summary>
    public int Count => _byToken.Count;

    /// <summary>Successful gets, counting a token handed out again.</summary>
    public int HandedOut => Volatile.Read(ref _handedOut);

    public IReadOnlyList<Issued> Tokens => [.. _byToken.Values];

    public IReadOnlyList<string> Violations => [.. _violations];

    /// <summary>Records a successful get; a second token for a set whose first is unexpired is a violation.</summary>
    public void Acknowledge(string account, string addressSet, string token, long expire, string where)
    {
        Interlocked.Increment(ref _handedOut);
        var issued = new Issued(account, addressSet, token, expire);
        var known = _byToken.GetOrAdd(token, issued);
        if (known != issued)
        {
            Violation($"{Id(token)} came back as {issued} after {known} ({where})");
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        _current.AddOrUpdate(
            (account, addressSet),
            issued,
            (_, first) =>
            {
                if (first.Token == token)
                {
                    return first;
                }

                // A new token is right once the first has expired; near the boundary the server's clock decides.
                if (now + ClockSlack.TotalSeconds <= first.Expire)
                {
                    Violation($"{account} [{addressSet}] got {Id(token)} (expire {expire}) while {Id(first.Token)} (expire {first.Expire}) was unexpired ({where})");
                }

                return issued;
            });
    }

    public void Violation(string what) => _violations.Enqueue(what);

    /// <summary>
    /// Validates every token handed out against the server at <paramref name="baseAddress"/> (four at a time, from 127.0.0.1,
    /// which every address set of these tests holds) and records each that no longer answers success with its expiry as LOST.
    /// Returns how many were lost.
    /// </summary>
    public async Task<int> CountLostAsync(HttpClient http, Uri baseAddress, CancellationToken cancellationToken)
    {
        var lost = 0;
        await Parallel.ForEachAsync(Tokens, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (issued, token) =>
        {
            var answer = await TokenCalls.ValidateAsync(http, baseAddress, issued.Token, cancellationToken: token);
            if (!answer.Acknowledged || answer.Contract!.Expire != issued.Expire)
            {
                Interlocked.Increment(ref lost);
                Violation($"LOST: {Id(issued.Token)} of {issued.Account} [{issued.AddressSet}], expire {issued.Expire}, now answers {answer}");
            }
        });
        return lost;
    }

    /// <summary>The first characters of a token: enough to tell tokens apart in a message.</summary>
    public static string Id(string token) => token.Length > 8 ? token[..8] + "…" : token;
}

/// <summary>
/// Where a server that is killed and restarted listens now. Each restart is a new generation on a new port; a client that
/// lost its connection waits for the next generation (or a short delay) before trying again.
/// </summary>
public sealed class RestartingTarget(Uri address)
{
    private readonly Lock _lock = new();
    private (Uri Address, int Generation) _current = (address, 1);
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public (Uri Address, int Generation) Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    public void Publish(Uri address)
    {
        TaskCompletionSource published;
        lock (_lock)
        {
            _current = (address, _current.Generation + 1);
            published = _next;
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        published.TrySetResult();
    }

    /// <summary>A client got an answer from <paramref name="generation"/> (it serves: it is past start-up).</summary>
    public void Answered(int generation)
    {
        TaskCompletionSource answered;
        lock (_lock)
        {
            if (_current.Generation != generation)
            {
                return;
            }

            answered = _answered;
        }

        answered.TrySetResult();
    }

    /// <summary>
    /// Completes when the current generation has answered a request, or after <paramref name="atMost"/>: a kill "after some load"
    /// counts its delay from there, not from the listening line (a cold process on a busy machine can take a second to answer).
    /// </summary>
    public Task FirstAnswerAsync(TimeSpan atMost)
    {
        Task answered;
        lock (_lock)
        {
            answered = _answered.Task;
        }

        return Task.WhenAny(answered, Task.Delay(atMost));
    }

    /// <summary>Completes when a generation after <paramref name="generation"/> is listening, or after <paramref name="atMost"/>.</summary>
    public Task WaitBeyondAsync(int generation, TimeSpan atMost)
    {
        Task next;
        lock (_lock)
        {
            if (_current.Generation > generation)
            {
                return Task.CompletedTask;
            }

            next = _next.Task;
        }

        return Task.WhenAny(next, Task.Delay(atMost));
    }
}
