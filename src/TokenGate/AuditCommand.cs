using System.Globalization;
using TokenGate.Configuration;

namespace TokenGate.Cli;

/// <summary><c>tokengate audit [--account NAME] [--since TIME] [--limit N]</c>: the audit trail, newest first.</summary>
internal static class AuditCommand
{
    public static Command Build(Option<string?> database)
    {
        var account = new Option<string?>("--account") { Description = "Only entries about this account.", HelpName = "NAME" };
        var since = new Option<string?>("--since")
        {
            Description = "Only entries at or after TIME: a UTC date and time (2026-11-22T10:00:00Z, 2026-11-22) or a duration ago (90m, 12h, 7d).",
            HelpName = "TIME",
        };
        var limit = LimitOption.Create("Show at most this many (default 100).", 100);
        var json = JsonOutput.CreateOption();
        var command = new Command("audit", "Show the audit trail: token issues and deletions, password changes, failed logins, rate limits and operator changes.") { account, since, limit, json };
        command.SetAction((parse, cancellationToken) => AccountCommands.Run(parse, database, async (session, output) =>
        {
            // As token list and token revoke: an account that does not exist is an error (exit 1), not an empty trail. A removed
            // account's entries stay readable with --since or without --account.
            if (parse.GetValue(account) is { } name && !await session.Accounts.ExistsAsync(name, cancellationToken)
                && (await session.Store.ListAuditAsync(name, null, 1, cancellationToken)).Count == 0)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: there is no account named '{name}', and the audit trail holds no entry about it.");
                return ExitCodes.Failed;
            }

            long? from = null;
            if (parse.GetValue(since) is { } text)
            {
                if (!TryParseSince(text, TimeProvider.System.GetUtcNow(), out var at))
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"error: --since: '{text}' is neither a UTC time (2026-11-22T10:00:00Z) nor a duration ago (12h, 7d).");
                    return ExitCodes.Failed;
                }

                from = at.ToUnixTimeSeconds();
            }

            var entries = await session.Store.ListAuditAsync(parse.GetValue(account), from, Math.Max(1, parse.GetValue(limit)), cancellationToken);
            if (parse.GetValue(json))
            {
                await JsonOutput.WriteAsync(output, entries, (writer, e) =>
                {
                    writer.WriteString("at", JsonOutput.Time(e.At));
                    writer.WriteString("account", e.Account);
                    writer.WriteString("client", e.Client);
                    writer.WriteString("action", e.Action);
                    writer.WriteString("outcome", e.Outcome);
                    writer.WriteString("tokenId", e.TokenId);
                    writer.WriteString("operator", e.Operator);
                });
                return ExitCodes.Ok;
            }

            if (entries.Count == 0)
            {
                await output.WriteLineAsync("No audit entries.");
                return ExitCodes.Ok;
            }

            // OPERATOR: the console operator who made a change in the console; "-" for the API and the CLI.
            var rows = entries.Select(e => new[] { Cli.Time(e.At), e.Account ?? "-", e.Client ?? "-", e.Action, e.Outcome, e.TokenId ?? "-", e.Operator ?? "-" });
            await Cli.WriteTableAsync(output, ["TIME (UTC)", "ACCOUNT", "CLIENT", "ACTION", "OUTCOME", "TOKEN ID", "OPERATOR"], rows);
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    internal static bool TryParseSince(string text, DateTimeOffset now, out DateTimeOffset at)
    {
        if (Durations.TryParse(text, out var ago) && !text.Contains('-', StringComparison.Ordinal))
        {
            at = now - ago;
            return true;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at);
    }
}
