using System.Globalization;
using TokenGate.Accounts;
using TokenGate.Configuration;

namespace TokenGate.Cli;

/// <summary>
/// The per-account policy (issue 17): <c>tokengate account set NAME</c>, <c>account show NAME</c>, and the policy options that
/// <c>account add</c> takes too (<c>--allow-from</c>, <c>--token-lifetime</c>, <c>--max-tokens</c>).
/// </summary>
internal static class AccountPolicyCommands
{
    private const string Any = "any";
    private const string Default = "default";

    /// <summary>The three policy options, for <c>account set</c> and <c>account add</c>.</summary>
    internal sealed class PolicyOptions
    {
        public Option<string?> AllowFrom { get; } = new("--allow-from")
        {
            Description = "The networks the account may be used from (get, OAuth2, newpass, and its tokens): CIDR ranges or addresses, "
                + $"comma-separated (10.0.0.0/8,2001:db8::/32), at most {AllowedNetworks.MaxCount}; '{Any}' lifts the restriction.",
            HelpName = "CIDR[,CIDR...]|any",
        };

        public Option<string?> TokenLifetime { get; } = new("--token-lifetime")
        {
            Description = $"How long the account's new tokens are valid: {Durations.Format(AccountPolicy.MinTokenLifetime)} to "
                + $"{Durations.Format(AccountPolicy.MaxTokenLifetime)} (90m, 1h, 7d); '{Default}' uses the server's TOKENGATE_TOKEN_LIFETIME.",
            HelpName = "DURATION|default",
        };

        public Option<string?> MaxTokens { get; } = new("--max-tokens")
        {
            Description = $"The most unexpired tokens the account may hold ({AccountPolicy.MinMaxTokens}-{AccountPolicy.MaxMaxTokens}); "
                + $"'{Default}' uses the server's TOKENGATE_MAX_ACTIVE_TOKENS_PER_ACCOUNT.",
            HelpName = "N|default",
        };

        public void AddTo(Command command)
        {
            command.Options.Add(AllowFrom);
            command.Options.Add(TokenLifetime);
            command.Options.Add(MaxTokens);
            command.Validators.Add(result =>
            {
                foreach (var error in Errors(result.GetValue(AllowFrom), result.GetValue(TokenLifetime), result.GetValue(MaxTokens)))
                {
                    result.AddError(error);
                }
            });
        }

        /// <summary>The change the options ask for (validated already: see <see cref="AddTo"/>).</summary>
        public AccountPolicyChange Change(ParseResult parse) => Parse(parse.GetValue(AllowFrom), parse.GetValue(TokenLifetime), parse.GetValue(MaxTokens), out _);
    }

    public static Command Set(Option<string?> database)
    {
        var name = new Argument<string>("NAME") { Description = "The account name" };
        var options = new PolicyOptions();
        var command = new Command("set", "Change an account's policy: allowed networks, token lifetime, token cap. Every instance follows within a second.") { name };
        options.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetValue(options.AllowFrom) is null && result.GetValue(options.TokenLifetime) is null && result.GetValue(options.MaxTokens) is null)
            {
                result.AddError("Give at least one of --allow-from, --token-lifetime, --max-tokens.");
            }
        });
        command.SetAction((parse, cancellationToken) => AccountCommands.Run(parse, database, async (session, output) =>
        {
            var accountName = parse.GetValue(name)!;
            var change = await session.Accounts.SetPolicyAsync(accountName, options.Change(parse), cancellationToken);
            if (change.Status != AccountChangeStatus.Done)
            {
                return await AccountCommands.Report(parse, session, change, accountName, AuditActions.AccountPolicy, string.Empty);
            }

            await session.AuditAsync(accountName, AuditActions.AccountPolicy, cancellationToken);
            await output.WriteLineAsync($"Changed the policy of {accountName}.");
            return await WriteAsync(session, output, accountName, cancellationToken);
        }, cancellationToken));
        return command;
    }

    public static Command Show(Option<string?> database)
    {
        var name = new Argument<string>("NAME") { Description = "The account name" };
        var command = new Command("show", "Show one account: its state, tokens and policy.") { name };
        command.SetAction((parse, cancellationToken) => AccountCommands.Run(parse, database, async (session, output) =>
        {
            var accountName = parse.GetValue(name)!;
            var code = await WriteAsync(session, output, accountName, cancellationToken);
            if (code != ExitCodes.Ok)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: there is no account named '{accountName}'.");
            }

            return code;
        }, cancellationToken));
        return command;
    }

    /// <summary>The policy's three columns for <c>account list</c>: allowed networks, token lifetime, token cap ("server" when not set).</summary>
    public static string[] Columns(AccountPolicy policy) =>
    [
        policy.AllowedNetworks?.Text ?? Any,
        policy.TokenLifetime is { } lifetime ? Durations.Format(lifetime) : "server",
        policy.MaxTokens is { } max ? max.ToString(CultureInfo.InvariantCulture) : "server",
    ];

    public static readonly string[] ColumnHeaders = ["ALLOWED FROM", "TOKEN LIFETIME", "MAX TOKENS"];

    private static async Task<int> WriteAsync(OperatorSession session, TextWriter output, string accountName, CancellationToken cancellationToken)
    {
        var account = await session.Accounts.ShowAsync(accountName, cancellationToken);
        if (account is null)
        {
            return ExitCodes.Failed;
        }

        var server = session.Accounts.TokenOptions;
        var policy = account.Policy;
        var rows = new[]
        {
            new[] { "name", account.Name },
            ["state", account.Enabled ? "enabled" : "disabled"],
            ["created (UTC)", Cli.Time(account.CreatedAt)],
            ["active tokens", account.ActiveTokens.ToString(CultureInfo.InvariantCulture)],
            ["introspect", account.CanIntrospect ? "yes" : "no"],
            ["allowed from", policy.AllowedNetworks is { } networks ? string.Join(", ", networks.Networks) : "any (no restriction)"],
            ["token lifetime", policy.TokenLifetime is { } lifetime ? Durations.Format(lifetime) : $"{Durations.Format(server.Lifetime)} (server setting)"],
            ["max tokens", policy.MaxTokens is { } max ? max.ToString(CultureInfo.InvariantCulture) : $"{server.MaxActiveTokensPerAccount.ToString(CultureInfo.InvariantCulture)} (server setting)"],
        };
        var width = rows.Max(r => r[0].Length) + 2;
        foreach (var row in rows)
        {
            await output.WriteLineAsync(row[0].PadRight(width) + row[1]);
        }

        return ExitCodes.Ok;
    }

    private static IEnumerable<string> Errors(string? allowFrom, string? lifetime, string? maxTokens)
    {
        Parse(allowFrom, lifetime, maxTokens, out var errors);
        return errors;
    }

    private static AccountPolicyChange Parse(string? allowFrom, string? lifetime, string? maxTokens, out List<string> errors)
    {
        errors = [];
        PolicyPart<AllowedNetworks>? networksPart = null;
        if (allowFrom is not null)
        {
            if (string.Equals(allowFrom.Trim(), Any, StringComparison.OrdinalIgnoreCase))
            {
                networksPart = PolicyPart<AllowedNetworks>.Reset;
            }
            else if (AllowedNetworks.TryParse(allowFrom, out var networks, out var error))
            {
                networksPart = PolicyPart<AllowedNetworks>.Set(networks);
            }
            else
            {
                errors.Add($"--allow-from '{allowFrom}': {error} ('{Any}' lifts the restriction.)");
            }
        }

        PolicyPart<TimeSpan>? lifetimePart = null;
        if (lifetime is not null)
        {
            if (string.Equals(lifetime.Trim(), Default, StringComparison.OrdinalIgnoreCase))
            {
                lifetimePart = PolicyPart<TimeSpan>.Reset;
            }
            else if (Durations.TryParse(lifetime, out var duration) && AccountPolicy.IsValidLifetime(duration))
            {
                lifetimePart = PolicyPart<TimeSpan>.Set(duration);
            }
            else
            {
                errors.Add($"--token-lifetime '{lifetime}' must be whole seconds from {Durations.Describe(AccountPolicy.MinTokenLifetime)} to "
                    + $"{Durations.Describe(AccountPolicy.MaxTokenLifetime)} ({Durations.Examples}), or '{Default}'.");
            }
        }

        PolicyPart<int>? maxPart = null;
        if (maxTokens is not null)
        {
            if (string.Equals(maxTokens.Trim(), Default, StringComparison.OrdinalIgnoreCase))
            {
                maxPart = PolicyPart<int>.Reset;
            }
            else if (int.TryParse(maxTokens, NumberStyles.None, CultureInfo.InvariantCulture, out var max) && AccountPolicy.IsValidMaxTokens(max))
            {
                maxPart = PolicyPart<int>.Set(max);
            }
            else
            {
                errors.Add($"--max-tokens '{maxTokens}' must be a whole number from {AccountPolicy.MinMaxTokens} to {AccountPolicy.MaxMaxTokens}, or '{Default}'.");
            }
        }

        return new AccountPolicyChange(networksPart, lifetimePart, maxPart);
    }
}
