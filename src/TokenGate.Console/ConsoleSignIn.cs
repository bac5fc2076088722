using System.Net;
using TokenGate.Operators;

namespace TokenGate.OperatorConsole;

/// <summary>
/// Signing in to the console goes through the same guessing defences as <c>get</c> (<see cref="LoginGate.AttemptAsync"/>): the
/// throttle's reservation, the password-hashing queue's turn, then <see cref="OperatorService.VerifyAsync"/>; a failure is
/// audited and counted as a failed login. Operators are counted under <c>console:NAME</c>, so guesses at an API account of the
/// same name do not lock its operator out (nor the reverse).
/// </summary>
public sealed class ConsoleSignIn(LoginGate gate, OperatorService operators)
{
    public const string Action = "console.login";

    public async ValueTask<LoginOutcome<OperatorRecord>> AttemptAsync(string name, string password, IPAddress caller, CancellationToken cancellationToken) =>
        await gate.AttemptAsync(
            new LoginAttempt("console:" + name, caller, Action),
            async token =>
            {
                var found = await operators.VerifyAsync(name, password, token);
                return found is not null
                    ? LoginCheck<OperatorRecord>.Pass(found)
                    : LoginCheck<OperatorRecord>.Fail((await operators.FindAsync(name, token))?.Name);
            },
            cancellationToken);
}
