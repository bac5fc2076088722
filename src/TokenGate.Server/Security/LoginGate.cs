using System.Net;
using Microsoft.Extensions.Logging;
using TokenGate.Accounts;
using TokenGate.Server.Hosting;
using TokenGate.Storage;

namespace TokenGate.Server.Security;

/// <summary>
/// Every credential check goes through here — an account's password (<c>get</c>), an OAuth2 client's secret, the token of a
/// <c>newpass</c> — so that the guessing defences and their side effects are written once: throttle, then the check, then the
/// audit entry, the metric and the log line of its outcome. The endpoints only parse, call and render.
/// </summary>
public sealed class LoginGate(TokenService tokens, LoginThrottle throttle, TokenGateMetrics metrics, AuditTrail audit, TimeProvider time, ILogger<LoginGate> logger)
{
    /// <summary>newpass attempts are counted per client IP under a key no username can take.</summary>
    public const string NewpassThrottleKey = "(newpass)";

    /// <summary>An account's username and password (an OAuth2 client's id and secret): the account when both are right and it is enabled.</summary>
    public ValueTask<LoginOutcome<AccountRecord>> AuthenticateAsync(LoginAttempt attempt, string? password, CancellationToken cancellationToken) =>
        AttemptAsync(
            attempt,
            async token =>
            {
                var (account, knownName) = await tokens.AuthenticateAsync(attempt.Username, password, token);
                return account is null ? LoginCheck<AccountRecord>.Fail(knownName) : LoginCheck<AccountRecord>.Pass(account);
            },
            cancellationToken);

    /// <summary>
    /// Runs <paramref name="check"/> for <paramref name="attempt"/> unless the attempt is refused by the throttle, and records
    /// the outcome. A check that throws (the store is unavailable) records nothing; the exception goes on to the endpoint.
    /// </summary>
    public async ValueTask<LoginOutcome<T>> AttemptAsync<T>(LoginAttempt attempt, Func<CancellationToken, ValueTask<LoginCheck<T>>> check, CancellationToken cancellationToken)
    {
        var decision = throttle.Check(attempt.Username, attempt.Caller);
        if (decision.Action == ThrottleAction.Block)
        {
            metrics.RateLimited(attempt.Action);
            audit.Record(account: null, attempt.Caller.ToString(), attempt.Action, AuditActions.RateLimited);
            Log.RateLimited(logger, attempt.Action, attempt.Caller.ToString(), decision.Duration);
            return LoginOutcome<T>.Refused(decision.Duration);
        }

        if (decision.Action == ThrottleAction.Delay)
        {
            await Task.Delay(decision.Duration, time, cancellationToken);
        }

        var result = await check(cancellationToken);
        if (result.Passed)
        {
            // A right password clears its (username, IP) count; a right newpass token clears nothing, or anyone holding a token
            // of their own could reset the count of their guesses at other tokens.
            if (attempt.CountsAsAuthentication)
            {
                throttle.RecordSuccess(attempt.Username, attempt.Caller);
            }

            return LoginOutcome<T>.Admitted(result.Value!);
        }

        if (attempt.CountsAsAuthentication)
        {
            RecordFailure(attempt, result.KnownAccount);
        }
        else
        {
            throttle.RecordFailure(attempt.Username, attempt.Caller);
        }

        return LoginOutcome<T>.Failed(result.Value);
    }

    /// <summary>
    /// Counts and records a failed check; also for a failure found after the check passed (the password changed between the
    /// check and the issue).
    /// </summary>
    public void RecordFailure(LoginAttempt attempt, string? knownAccount)
    {
        throttle.RecordFailure(attempt.Username, attempt.Caller);
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

/// <summary>What a credential check found: whether it passed, what it produced, and the account's name when it exists.</summary>
public readonly record struct LoginCheck<T>(bool Passed, T? Value, string? KnownAccount)
{
    public static LoginCheck<T> Pass(T value) => new(true, value, null);

    public static LoginCheck<T> Fail(string? knownAccount, T? value = default) => new(false, value, knownAccount);
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
