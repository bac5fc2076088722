using System.Net;
using TokenGate.Server.Security;

namespace TokenGate.Cli;

/// <summary>
/// <c>tokengate throttle list|clear</c>: what the guessing defences are refusing now, and undoing it. Usernames are stored
/// only as digests, so the list names those that are accounts and shows the others as unknown.
/// </summary>
internal static class ThrottleCommands
{
    public static Command Build(Option<string?> database) =>
        new("throttle", "See and clear what the guessing defences refuse: usernames and addresses with too many failed logins.")
        {
            List(database),
            Clear(database),
        };

    private static Command List(Option<string?> database)
    {
        var all = new Option<bool>("--all") { Description = "Also counters still below their limit (attempts that failed recently)." };
        var command = new Command("list", "Refused usernames and addresses: what is counted, how many failures, refused until when (UTC).") { all };
        command.SetAction((parse, cancellationToken) => AccountCommands.Run(parse, database, async (session, output) =>
        {
            var options = session.Settings.LoginThrottle;
            var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
            var window = (long)options.Window.TotalSeconds;
            var counters = await session.Store.ListAttemptCountersAsync(now, window, 1000, cancellationToken);
            var names = (await session.Store.ListAccountsAsync(now, cancellationToken)).ToDictionary(a => LoginThrottle.UsernameKey(a.Name), a => a.Name, StringComparer.Ordinal);
            var rows = counters
                .Select(counter => (Counter: counter, Limit: Limit(counter.Scope, options)))
                .Where(entry => parse.GetValue(all) || entry.Counter.Count >= entry.Limit)
                .Select(entry => new[]
                {
                    Scope(entry.Counter.Scope),
                    entry.Counter.Username.Length == 0 ? "-" : names.GetValueOrDefault(entry.Counter.Username, "(not an account)"),
                    entry.Counter.Client.Length == 0 ? "(any)" : entry.Counter.Client,
                    $"{entry.Counter.Count}/{entry.Limit}",
                    entry.Counter.Count >= entry.Limit ? Cli.Time(entry.Counter.LastAt + window) : "-",
                })
                .ToList();
            if (rows.Count == 0)
            {
                await output.WriteLineAsync(parse.GetValue(all) ? "No failed logins in the window." : "Nothing is refused now.");
                return ExitCodes.Ok;
            }

            await Cli.WriteTableAsync(output, ["COUNTS", "USERNAME", "ADDRESS", "FAILURES", "REFUSED UNTIL (UTC)"], rows);
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command Clear(Option<string?> database)
    {
        var account = new Option<string?>("--account") { Description = "Forget the failures of this username (from every address).", HelpName = "NAME" };
        var address = new Option<string?>("--address") { Description = "Forget the failures from this address (IPv6: its /64, as counted).", HelpName = "IP" };
        var command = new Command("clear", "Forget counted failures, so that refused callers may try again at once. Audited.") { account, address };
        command.SetAction((parse, cancellationToken) => AccountCommands.Run(parse, database, async (session, output) =>
        {
            var name = parse.GetValue(account);
            var addressText = parse.GetValue(address);
            if (name is null && addressText is null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("error: say what to clear: --account NAME, --address IP, or both.");
                return ExitCodes.Failed;
            }

            string? clientKey = null;
            if (addressText is not null)
            {
                if (!IPAddress.TryParse(addressText, out var ip))
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"error: --address: '{addressText}' is not an IP address.");
                    return ExitCodes.Failed;
                }

                clientKey = LoginThrottle.ClientKey(ip, session.Settings.LoginThrottle.Ipv6Prefix);
            }

            var cleared = await session.Store.ClearAttemptCountersAsync(name is null ? null : LoginThrottle.UsernameKey(name), clientKey, cancellationToken);
            var what = string.Join(" and ", new[] { name is null ? null : $"username '{name}'", clientKey is null ? null : $"address {clientKey}" }.OfType<string>());

            // The entry names what was cleared (the username is also its account, the address as counted): an --address clear
            // would otherwise say nothing about whom it let back in.
            await session.AuditAsync(name, AuditActions.ThrottleClear, cancellationToken, outcome: $"{AuditActions.Done} ({cleared} counter(s) of {what})");
            await output.WriteLineAsync($"Cleared {cleared} counter(s) of {what}.");
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static int Limit(AttemptScope scope, LoginThrottleOptions options) => scope switch
    {
        AttemptScope.Pair => options.BlockAfter,
        AttemptScope.Client => options.BlockAfterPerClient,
        _ => options.BlockAfterPerAccount,
    };

    private static string Scope(AttemptScope scope) => scope switch
    {
        AttemptScope.Pair => "username+address",
        AttemptScope.Client => "address",
        _ => "username",
    };
}
