using TokenGate.Accounts;

namespace TokenGate.Cli;

/// <summary><c>tokengate account add|list|disable|enable|remove|passwd</c>; <c>set|show</c> are in <see cref="AccountPolicyCommands"/>.</summary>
internal static class AccountCommands
{
    public static Command Build(Option<string?> database, TextReader input) =>
        new("account", "Manage accounts (username and password, the \"API key\").")
        {
            Add(database, input),
            List(database),
            Simple(database, "disable", "Disable an account and delete its tokens; it can no longer get tokens.", (accounts, name, ct) => accounts.SetEnabledAsync(name, false, ct), "Disabled {0}; its tokens were deleted."),
            Simple(database, "enable", "Enable a disabled account.", (accounts, name, ct) => accounts.SetEnabledAsync(name, true, ct), "Enabled {0}."),
            Simple(database, "remove", "Remove an account and its tokens.", (accounts, name, ct) => accounts.RemoveAsync(name, ct), "Removed {0}."),
            Passwd(database, input),
            Introspect(database),
            AccountPolicyCommands.Set(database),
            AccountPolicyCommands.Show(database),
        };

    private static Argument<string> NameArgument() => new("NAME") { Description = $"The account name: 1-{AccountName.MaxLength} letters, digits and ._@-" };

    internal static Option<string?> PasswordOption() => new("--password")
    {
        Description = "The password. Without it (and without --password-stdin) a strong one is generated and printed once.",
        HelpName = "P",
    };

    internal static Option<bool> PasswordStdinOption() => new("--password-stdin")
    {
        Description = "Read the password from the first line of standard input (keeps it out of the shell history and process list).",
    };

    private static Command Add(Option<string?> database, TextReader input)
    {
        var name = NameArgument();
        var password = PasswordOption();
        var stdin = PasswordStdinOption();
        var introspect = new Option<bool>("--introspect") { Description = "Make it a resource server: its credentials may call POST /oauth2/introspect." };
        var command = new Command("add", "Create an account.") { name, password, stdin, introspect };
        var policy = new AccountPolicyCommands.PolicyOptions();
        policy.AddTo(command);
        RefuseBoth(command, password, stdin);
        command.SetAction((parse, cancellationToken) => Run(parse, database, mayCreate: true, async (session, output) =>
        {
            var accountName = parse.GetValue(name)!;
            var change = await session.Accounts.CreateAsync(accountName, ReadPassword(parse, password, stdin, input), cancellationToken);
            if (change.Status == AccountChangeStatus.Done && parse.GetValue(introspect))
            {
                await session.Accounts.SetIntrospectionAsync(accountName, allowed: true, cancellationToken);
            }

            if (change.Status == AccountChangeStatus.Done && policy.Change(parse) is { IsEmpty: false } policyChange)
            {
                await session.Accounts.SetPolicyAsync(accountName, policyChange, cancellationToken);
            }

            return await Report(parse, session, change, accountName, AuditActions.AccountAdd, $"Created account {accountName}.");
        }, cancellationToken));
        return command;
    }

    private static Command Passwd(Option<string?> database, TextReader input)
    {
        var name = NameArgument();
        var password = PasswordOption();
        var stdin = PasswordStdinOption();
        var command = new Command("passwd", "Set an account's password; every token of the account is deleted.") { name, password, stdin };
        RefuseBoth(command, password, stdin);
        command.SetAction((parse, cancellationToken) => Run(parse, database, async (session, output) =>
        {
            var accountName = parse.GetValue(name)!;
            var change = await session.Accounts.SetPasswordAsync(accountName, ReadPassword(parse, password, stdin, input), cancellationToken);
            return await Report(parse, session, change, accountName, AuditActions.AccountPassword, $"Changed the password of {accountName}; its tokens were deleted.");
        }, cancellationToken));
        return command;
    }

    private static Command Introspect(Option<string?> database)
    {
        var name = NameArgument();
        var off = new Option<bool>("--off") { Description = "Take the right away instead." };
        var command = new Command("introspect", "Let an account call POST /oauth2/introspect (a resource server), or with --off stop it.") { name, off };
        command.SetAction((parse, cancellationToken) => Run(parse, database, async (session, output) =>
        {
            var accountName = parse.GetValue(name)!;
            var allowed = !parse.GetValue(off);
            var change = await session.Accounts.SetIntrospectionAsync(accountName, allowed, cancellationToken);
            return await Report(
                parse,
                session,
                change,
                accountName,
                allowed ? AuditActions.AccountIntrospect : AuditActions.AccountIntrospectOff,
                allowed ? $"{accountName} may now introspect tokens." : $"{accountName} may no longer introspect tokens.");
        }, cancellationToken));
        return command;
    }

    private static Command List(Option<string?> database)
    {
        var json = JsonOutput.CreateOption();
        var command = new Command("list", "List accounts.") { json };
        command.SetAction((parse, cancellationToken) => Run(parse, database, async (session, output) =>
        {
            var accounts = await session.Accounts.ListAsync(cancellationToken);
            if (parse.GetValue(json))
            {
                await JsonOutput.WriteAsync(output, accounts, (writer, a) =>
                {
                    writer.WriteString("name", a.Name);
                    writer.WriteBoolean("enabled", a.Enabled);
                    writer.WriteNumber("activeTokens", a.ActiveTokens);
                    writer.WriteString("createdAt", JsonOutput.Time(a.CreatedAt));
                    writer.WriteBoolean("introspect", a.CanIntrospect);
                });
                return ExitCodes.Ok;
            }

            if (accounts.Count == 0)
            {
                await output.WriteLineAsync("No accounts. Create one with: tokengate account add NAME");
                return ExitCodes.Ok;
            }

            var rows = accounts.Select(a => new[] { a.Name, a.Enabled ? "enabled" : "disabled", a.ActiveTokens.ToString(), Cli.Time(a.CreatedAt), a.CanIntrospect ? "yes" : "no" }.Concat(AccountPolicyCommands.Columns(a.Policy)).ToArray());
            await Cli.WriteTableAsync(output, ["NAME", "STATE", "ACTIVE TOKENS", "CREATED (UTC)", "INTROSPECT", .. AccountPolicyCommands.ColumnHeaders], rows);
            if (AccountNameClashes.Find(accounts.Select(a => a.Name)) is { Count: > 0 } clashes)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"warning: {AccountNameClashes.Describe(clashes)}");
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command Simple(Option<string?> database, string verb, string description, Func<AccountService, string, CancellationToken, ValueTask<AccountChange>> act, string done)
    {
        var name = NameArgument();
        var command = new Command(verb, description) { name };
        command.SetAction((parse, cancellationToken) => Run(parse, database, async (session, output) =>
        {
            var accountName = parse.GetValue(name)!;
            var change = await act(session.Accounts, accountName, cancellationToken);
            return await Report(parse, session, change, accountName, "account." + verb, string.Format(System.Globalization.CultureInfo.InvariantCulture, done, accountName));
        }, cancellationToken));
        return command;
    }

    internal static void RefuseBoth(Command command, Option<string?> password, Option<bool> stdin) =>
        command.Validators.Add(result =>
        {
            if (result.GetValue(password) is not null && result.GetValue(stdin))
            {
                result.AddError("Give --password or --password-stdin, not both.");
            }
        });

    internal static string? ReadPassword(ParseResult parse, Option<string?> password, Option<bool> stdin, TextReader input)
    {
        if (parse.GetValue(stdin))
        {
            return input.ReadLine() ?? string.Empty;
        }

        return parse.GetValue(password);
    }

    internal static async Task<int> Report(ParseResult parse, OperatorSession session, AccountChange change, string name, string auditAction, string done)
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
                await error.WriteLineAsync($"error: '{name}' is not a valid account name: use 1-{AccountName.MaxLength} letters, digits and ._@-");
                return ExitCodes.Failed;
            case AccountChangeStatus.Duplicate when change.ExistingName is { } existing && !string.Equals(existing, name, StringComparison.Ordinal):
                await error.WriteLineAsync($"error: an account named '{existing}' already exists, and account names are unique ignoring case: choose another name than '{name}'.");
                return ExitCodes.Failed;
            case AccountChangeStatus.Duplicate:
                await error.WriteLineAsync($"error: an account named '{name}' already exists.");
                return ExitCodes.Failed;
            case AccountChangeStatus.UnknownAccount:
                await error.WriteLineAsync($"error: there is no account named '{name}'.");
                return ExitCodes.Failed;
            case AccountChangeStatus.InvalidPolicy:
                await error.WriteLineAsync($"error: the policy for '{name}' is out of range (see tokengate account set --help).");
                return ExitCodes.Failed;
            default:
                await error.WriteLineAsync($"error: the password does not meet the policy ({session.Accounts.PasswordPolicy.Describe()}).");
                return ExitCodes.Failed;
        }
    }

    internal static Task<int> Run(ParseResult parse, Option<string?> database, Func<OperatorSession, TextWriter, Task<int>> body, CancellationToken cancellationToken) =>
        Run(parse, database, mayCreate: false, body, cancellationToken);

    /// <summary>Opens the database (creating a missing SQLite file only when <paramref name="mayCreate"/>) and runs <paramref name="body"/>.</summary>
    internal static Task<int> Run(ParseResult parse, Option<string?> database, bool mayCreate, Func<OperatorSession, TextWriter, Task<int>> body, CancellationToken cancellationToken) =>
        TokenGateCli.Guard(parse, async () =>
        {
            await using var session = await OperatorSession.OpenAsync(parse.GetValue(database), parse.InvocationConfiguration.Error, cancellationToken, mayCreate: mayCreate);
            return await body(session, parse.InvocationConfiguration.Output);
        });
}
