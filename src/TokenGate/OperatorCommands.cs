using TokenGate.Accounts;
using TokenGate.Operators;

namespace TokenGate.Cli;

/// <summary>
/// <c>tokengate operator add|list|remove|passwd</c>: the people who may sign in to the operator console. They are not API
/// accounts (docs/DECISIONS.md): an operator gets no tokens, and an account's password never opens the console. Every change is
/// audited (client <c>cli</c>), with the operator's name in the entry's account column.
/// </summary>
internal static class OperatorCommands
{
    public static Command Build(Option<string?> database, TextReader input) =>
        new("operator", "Manage console operators (who may sign in to /console; not API accounts).")
        {
            Add(database, input),
            List(database),
            Remove(database),
            Passwd(database, input),
        };

    private static Argument<string> NameArgument() => new("NAME") { Description = $"The operator's name: 1-{AccountName.MaxLength} letters, digits and ._@-" };

    private static Command Add(Option<string?> database, TextReader input)
    {
        var name = NameArgument();
        var password = AccountCommands.PasswordOption();
        var stdin = AccountCommands.PasswordStdinOption();
        var command = new Command("add", "Add a console operator.") { name, password, stdin };
        AccountCommands.RefuseBoth(command, password, stdin);
        command.SetAction((parse, cancellationToken) => AccountCommands.Run(parse, database, mayCreate: true, async (session, output) =>
        {
            var operatorName = parse.GetValue(name)!;
            var change = await session.Operators.AddAsync(operatorName, AccountCommands.ReadPassword(parse, password, stdin, input), cancellationToken);
            return await Report(parse, session, change, operatorName, AuditActions.OperatorAdd, $"Created operator {operatorName}.");
        }, cancellationToken));
        return command;
    }

    private static Command Passwd(Option<string?> database, TextReader input)
    {
        var name = NameArgument();
        var password = AccountCommands.PasswordOption();
        var stdin = AccountCommands.PasswordStdinOption();
        var command = new Command("passwd", "Set a console operator's password; their console sessions end.") { name, password, stdin };
        AccountCommands.RefuseBoth(command, password, stdin);
        command.SetAction((parse, cancellationToken) => AccountCommands.Run(parse, database, async (session, output) =>
        {
            var operatorName = parse.GetValue(name)!;
            var change = await session.Operators.SetPasswordAsync(operatorName, AccountCommands.ReadPassword(parse, password, stdin, input), cancellationToken);
            return await Report(parse, session, change, operatorName, AuditActions.OperatorPassword, $"Changed the password of operator {operatorName}; their console sessions end.");
        }, cancellationToken));
        return command;
    }

    private static Command Remove(Option<string?> database)
    {
        var name = NameArgument();
        var command = new Command("remove", "Remove a console operator; their console sessions end.") { name };
        command.SetAction((parse, cancellationToken) => AccountCommands.Run(parse, database, async (session, output) =>
        {
            var operatorName = parse.GetValue(name)!;
            var change = await session.Operators.RemoveAsync(operatorName, cancellationToken);
            return await Report(parse, session, change, operatorName, AuditActions.OperatorRemove, $"Removed operator {operatorName}.");
        }, cancellationToken));
        return command;
    }

    private static Command List(Option<string?> database)
    {
        var json = JsonOutput.CreateOption();
        var command = new Command("list", "List console operators.") { json };
        command.SetAction((parse, cancellationToken) => AccountCommands.Run(parse, database, async (session, output) =>
        {
            var operators = await session.Operators.ListAsync(cancellationToken);
            if (parse.GetValue(json))
            {
                await JsonOutput.WriteAsync(output, operators, (writer, o) =>
                {
                    writer.WriteString("name", o.Name);
                    writer.WriteString("createdAt", JsonOutput.Time(o.CreatedAt));
                });
                return ExitCodes.Ok;
            }

            if (operators.Count == 0)
            {
                await output.WriteLineAsync("No console operators. Add one with: tokengate operator add NAME");
                return ExitCodes.Ok;
            }

            await Cli.WriteTableAsync(output, ["NAME", "CREATED (UTC)"], operators.Select(o => new[] { o.Name, Cli.Time(o.CreatedAt) }));
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static async Task<int> Report(ParseResult parse, OperatorSession session, AccountChange change, string name, string auditAction, string done)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        switch (change.Status)
        {
            case AccountChangeStatus.Done:
                await session.AuditAsync(name, auditAction);
                await output.WriteLineAsync(done);
                if (change.GeneratedPassword is not null)
                {
                    await output.WriteLineAsync($"Password (shown once, keep it now): {change.GeneratedPassword}");
                }

                return ExitCodes.Ok;
            case AccountChangeStatus.InvalidName:
                await error.WriteLineAsync($"error: '{name}' is not a valid operator name: use 1-{AccountName.MaxLength} letters, digits and ._@-");
                return ExitCodes.Failed;
            case AccountChangeStatus.Duplicate when change.ExistingName is { } existing && !string.Equals(existing, name, StringComparison.Ordinal):
                await error.WriteLineAsync($"error: an operator named '{existing}' already exists, and operator names are unique ignoring case: choose another name than '{name}'.");
                return ExitCodes.Failed;
            case AccountChangeStatus.Duplicate:
                await error.WriteLineAsync($"error: an operator named '{name}' already exists.");
                return ExitCodes.Failed;
            case AccountChangeStatus.UnknownAccount:
                await error.WriteLineAsync($"error: there is no operator named '{name}'.");
                return ExitCodes.Failed;
            default:
                await error.WriteLineAsync($"error: the password does not meet the policy ({session.Operators.PasswordPolicy.Describe("operator")}).");
                return ExitCodes.Failed;
        }
    }
}
