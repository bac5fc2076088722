using System.Collections.Concurrent;
using System.Net;
using TokenGate.Accounts;
using TokenGate.Caching;

namespace TokenGate.Server.Security;

/// <summary>
/// Every credential check goes through here — an account's password (<c>get</c>), an OAuth2 client's secret, the token of a
/// <c>newpass</c> — so that the guessing defences and their side effects are written once: the throttle's reservation, then the
/// check, then the audit entry, the metric and the log line of its outcome. The endpoints only parse, call and render.
/// </summary>
public sealed class LoginGate(TokenService tokens, LoginThrottle throttle, PasswordHashingQueue hashing, TokenGateMetrics metrics, AuditTrail audit, TimeProvider time, ILogger<LoginGate> logger)
{
    /// <summary>newpass attempts are counted per client under a key no username can take.</summary>
    public const string NewpassThrottleKey = "(newpass)";

    private readonly ConcurrentDictionary<DigestKey, Lazy<Task<LoginOutcome<AccountRecord>>>> _inFlight = new();

    /// <summary>An account's username and password (an OAuth2 client's id and secret): the account when both are right and it is enabled.</summary>
    public async ValueTask<LoginOutcome<AccountRecord>> AuthenticateAsync(LoginAttempt attempt, string? password, CancellationToken cancellationToken)
    {
        // The hot path: this exact username and password were verified for this client under the current revocation epoch, and
        // every limit that started refusing since then has moved that epoch. So the attempt is a repeat of a success the throttle
        // let through, and it writes nothing. Scoped to the client, a remembered password never lets another client's guess in.
        var scope = throttle.Enabled ? throttle.ClientKey(attempt.Caller) : string.Empty;
        if (tokens.TryAuthenticateRemembered(attempt.Username, password, scope, attempt.Caller) is { } remembered)
        {
            await throttle.SettleRememberedAsync(attempt.Username, scope, CancellationToken.None);
            return LoginOutcome<AccountRecord>.Admitted(remembered);
        }

        // Concurrent attempts with the same username, password and client are one attempt: they share one reservation and one
        // password check. So a client that sends many logins at once (a cold cache, a restart) is not taken for a guesser, while
        // every different password still counts on its own. The shared check runs to its end whoever waits for it. The caller's
        // address is part of the key: an account's allowed networks admit one caller and refuse another with the same password.
        var key = tokens.CredentialFingerprint(attempt.Username, password, scope + "\0" + attempt.Caller);
        var shared = new Lazy<Task<LoginOutcome<AccountRecord>>>(() => CheckPasswordAsync(attempt, password, scope, key));
        var running = _inFlight.GetOrAdd(key, shared);
        var outcome = await running.Value.WaitAsync(cancellationToken);
        if (!ReferenceEquals(running, shared))
        {
            // This request joined another's attempt, which counted and recorded its own outcome. Its answer is one request more,
            // so the metrics, which count requests, move by one more.
            if (outcome.Status == LoginStatus.Refused)
            {
                // The 429 is a request refused too: the per-minute count moves as well (a refusal writes nothing else).
                metrics.RateLimited(attempt.Action);
                audit.RecordRepeated(account: null, attempt.Caller.ToString(), attempt.Action, AuditActions.RateLimited);
            }
            else if (outcome.Status == LoginStatus.Failed)
            {
                // The check's audit entry and log line stand for both, and the throttle counted it once.
                metrics.AuthenticationFailed();
            }
        }

        return outcome;
    }

    private async Task<LoginOutcome<AccountRecord>> CheckPasswordAsync(LoginAttempt attempt, string? password, string scope, DigestKey key)
    {
        try
        {
            return await AttemptAsync(
                attempt,
                async token =>
                {
                    var check = await tokens.AuthenticateAsync(attempt.Username, password, scope, attempt.Caller, token);
                    return check.Account is not null
                        ? LoginCheck<AccountRecord>.Pass(check.Account)
                        : check.OutsideAllowedNetworks
                            ? LoginCheck<AccountRecord>.FailOutsideAllowedNetworks(check.KnownName)
                            : LoginCheck<AccountRecord>.Fail(check.KnownName);
                },
                CancellationToken.None);
        }
        finally
        {
            _inFlight.TryRemove(key, out _);
        }
    }

    /// <summary>
    /// Runs <paramref name="check"/> for <paramref name="attempt"/> unless the throttle refuses the attempt, and records the
    /// outcome. The attempt counts as a failure from before the check until it passes, so concurrent guesses cannot overtake
    /// the count. A check that throws (the store is unavailable) leaves it counted: guesses fail closed.
    /// </summary>
    public async ValueTask<LoginOutcome<T>> AttemptAsync<T>(LoginAttempt attempt, Func<CancellationToken, ValueTask<LoginCheck<T>>> check, CancellationToken cancellationToken)
    {
        var ticket = await throttle.ReserveAsync(attempt.Username, attempt.Caller, accountWide: attempt.CountsAsAuthentication, cancellationToken);
        var client = attempt.Caller.ToString();
        foreach (var scope in ticket.BlocksStarted)
        {
            // A limit starts refusing: once per limit and window, so a flood cannot swamp the trail.
            audit.Record(account: null, client, attempt.Action, AuditActions.ThrottleStarted(scope));
            Log.ThrottleStarted(logger, attempt.Action, client, LoginThrottle.Describe(scope));
        }

        if (ticket.Refused)
        {
            metrics.RateLimited(attempt.Action);
            // Every refused attempt of a flood would be a row: counted per address and minute instead (AuditTrail.RecordRepeated).
            audit.RecordRepeated(account: null, client, attempt.Action, AuditActions.RateLimited);
            Log.RateLimited(logger, attempt.Action, client, ticket.RetryAfter);
            return LoginOutcome<T>.Refused(ticket.RetryAfter);
        }

        if (ticket.Delay > TimeSpan.Zero)
        {
            await Task.Delay(ticket.Delay, time, cancellationToken);
        }

        // The check (PBKDF2) waits its turn in the bounded queue; refused there (PasswordHashingBusyException), the reservation
        // stands: a flood that overflows the queue is still counted by the throttle. The outcome goes back to the queue: a
        // caller whose checks fail as often as they pass is the one it refuses with 429 when the queue is full.
        LoginCheck<T> result;
        using (var turn = await hashing.EnterAsync(attempt.Caller, cancellationToken))
        {
            result = await check(cancellationToken);
            turn.Report(result.Passed);
        }

        if (result.Passed)
        {
            // A right password clears its (username, client) count and makes the client familiar to the username; a right
            // newpass token only gives its own attempt back, or anyone holding a token of their own could reset the count of
            // their guesses at other tokens.
            await throttle.SucceededAsync(ticket, isPassword: attempt.CountsAsAuthentication, CancellationToken.None);
            return LoginOutcome<T>.Admitted(result.Value!);
        }

        if (result.OutsideAllowedNetworks)
        {
            RecordOutsideAllowedNetworks(attempt, result.KnownAccount!);
        }
        else if (attempt.CountsAsAuthentication)
        {
            RecordFailure(attempt, result.KnownAccount);
        }

        return LoginOutcome<T>.Failed(result.Value);
    }

    /// <summary>Records an attempt refused because the caller is outside the account's allowed networks.</summary>
    public void RecordOutsideAllowedNetworks(LoginAttempt attempt, string account)
    {
        // Answered as a failed login (same body, same metric) but recorded for what it is: a right or wrong password from the
        // wrong place, never checked.
        metrics.AuthenticationFailed();
        var client = attempt.Caller.ToString();
        audit.Record(account, client, attempt.Action, AuditActions.OutsideAllowedNetworks);
        Log.OutsideAllowedNetworks(logger, attempt.Action, account, client);
    }

    /// <summary>
    /// Records a failed check (the throttle counted it already: its reservation stands); also a failure found after the check
    /// passed (the password changed between the check and the issue: a race with the change, not a guess, so not counted).
    /// </summary>
    public void RecordFailure(LoginAttempt attempt, string? knownAccount)
    {
        metrics.AuthenticationFailed();
        var client = attempt.Caller.ToString();
        audit.Record(knownAccount, client, attempt.Action, AuditActions.AuthenticationFailure);
        if (knownAccount is null)
        {
            Log.AuthenticationFailedUnknown(logger, client);
        }
        else
        {
            Log.AuthenticationFailed(logger, knownAccount, client);
        }
    }
}

/// <summary>
/// One attempt at a credential check. <paramref name="Username"/> is what the throttle counts (the username, the OAuth2
/// client id, or <see cref="LoginGate.NewpassThrottleKey"/>); <paramref name="Action"/> names the attempt in the audit trail,
/// the metrics and the log. <paramref name="CountsAsAuthentication"/> is false for <c>newpass</c>, whose failure is an invalid
/// token, not a failed login, and its success clears no count.
/// </summary>
public readonly record struct LoginAttempt(string? Username, IPAddress Caller, string Action, bool CountsAsAuthentication = true);

/// <summary>What a credential check found: whether it passed, what it produced, and the account's name when it exists.
/// <see cref="OutsideAllowedNetworks"/>: refused because the caller is outside the account's allowed networks (nothing was checked).</summary>
public readonly record struct LoginCheck<T>(bool Passed, T? Value, string? KnownAccount, bool OutsideAllowedNetworks = false)
{
    public static LoginCheck<T> Pass(T value) => new(true, value, null);

    public static LoginCheck<T> Fail(string? knownAccount, T? value = default) => new(false, value, knownAccount);

    public static LoginCheck<T> FailOutsideAllowedNetworks(string? knownAccount, T? value = default) => new(false, value, knownAccount, OutsideAllowedNetworks: true);
}

public enum LoginStatus
{
    /// <summary>The credentials were right.</summary>
    Admitted,

    /// <summary>The credentials were wrong (or unknown, or the account disabled).</summary>
    Failed,

    /// <summary>Refused without a check: too many failed attempts (HTTP 429 with <c>Retry-After</c>).</summary>
    Refused,
}

/// <summary>The outcome of <see cref="LoginGate.AttemptAsync{T}"/>.</summary>
public readonly record struct LoginOutcome<T>(LoginStatus Status, T? Value, TimeSpan RetryAfter)
{
    public static LoginOutcome<T> Admitted(T value) => new(LoginStatus.Admitted, value, TimeSpan.Zero);

    public static LoginOutcome<T> Failed(T? value) => new(LoginStatus.Failed, value, TimeSpan.Zero);

    public static LoginOutcome<T> Refused(TimeSpan retryAfter) => new(LoginStatus.Refused, default, retryAfter);

    /// <summary>The <c>Retry-After</c> header's value: whole seconds, rounded up.</summary>
    public string RetryAfterSeconds => Math.Ceiling(RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
