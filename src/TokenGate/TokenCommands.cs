using TokenGate.Server.Configuration;

namespace TokenGate.Cli;

/// <summary><c>tokengate token list|revoke|purge</c>. Tokens are shown by their non-secret id, never by value.</summary>
internal static class TokenCommands
{
    public static Command Build(Option<string?> database) =>
        new("token", "Inspect and revoke tokens.")
        {
            List(database),
            Revoke(database),
            Purge(database),
        };

    private static Command List(Option<string?> database)
    {
        var account = new Option<string?>("--account") { Description = "Only this account's tokens.", HelpName = "NAME" };
        var limit = LimitOption.Create("Show at most this many, newest first (default 1000).", 1000);
        var json = JsonOutput.CreateOption();
        var command = new Command("list", "List tokens: id (not the token), account, addresses, issued and expiry times.") { account, limit, json };
        command.SetAction((parse, cancellationToken) => AccountCommands.Run(parse, database, async (session, output) =>
        {
            var name = parse.GetValue(account);
            if (name is not null && !await session.Accounts.ExistsAsync(name, cancellationToken))
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: there is no account named '{name}'.");
                return ExitCodes.Failed;
            }

            var shown = Math.Max(1, parse.GetValue(limit));
            var tokens = await session.Accounts.ListTokensAsync(name, shown + 1, cancellationToken);
            var more = tokens.Count > shown;
            tokens = tokens.Take(shown).ToList();
            var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
            if (parse.GetValue(json))
            {
                await JsonOutput.WriteAsync(output, tokens, (writer, t) =>
                {
                    writer.WriteString("id", t.Id);
                    writer.WriteString("account", t.AccountName);
                    writer.WriteString("addresses", t.AddressKey);
                    writer.WriteString("issuedAt", JsonOutput.Time(t.IssuedAt));
                    writer.WriteString("expiresAt", JsonOutput.Time(t.ExpiresAt));
                    writer.WriteString("state", t.ExpiresAt > now ? "valid" : "expired");
                });
                return ExitCodes.Ok;
            }

            var rows = tokens.Select(t => new[] { t.Id, t.AccountName, t.AddressKey, Cli.Time(t.IssuedAt), Cli.Time(t.ExpiresAt), t.ExpiresAt > now ? "valid" : "expired" });
            await Cli.WriteTableAsync(output, ["ID", "ACCOUNT", "ADDRESSES", "ISSUED (UTC)", "EXPIRES (UTC)", "STATE"], rows);
            if (more)
            {
                await output.WriteLineAsync($"(only the newest {shown} are shown; use --limit to see more)");
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command Revoke(Option<string?> database)
    {
        var id = new Option<string?>("--id") { Description = "Revoke the one token with this id, as token list shows it.", HelpName = "ID" };
        var account = new Option<string?>("--account") { Description = "Revoke every token of this account.", HelpName = "NAME" };
        var all = new Option<bool>("--all") { Description = "Revoke every token of every account." };
        var command = new Command("revoke", "Delete tokens at once: one token (--id ID), every token of one account (--account NAME), or all (--all).") { id, account, all };
        command.Validators.Add(result =>
        {
            var given = (result.GetValue(id) is null ? 0 : 1) + (result.GetValue(account) is null ? 0 : 1) + (result.GetValue(all) ? 1 : 0);
            if (given != 1)
            {
                result.AddError("Give exactly one of --id ID, --account NAME or --all.");
            }
        });
        command.SetAction((parse, cancellationToken) =>
        {
            // Never echo what was given: an operator may paste a token where its id belongs.
            var tokenId = parse.GetValue(id);
            if (tokenId is not null && !Tokens.TokenValue.TryGetDigestRange(tokenId, out _, out _))
            {
                parse.InvocationConfiguration.Error.WriteLine(
                    $"error: --id takes a token id as token list shows it ({Tokens.TokenValue.IdBytes * 2} hexadecimal characters), not a token.");
                return Task.FromResult(ExitCodes.Failed);
            }

            return AccountCommands.Run(parse, database, async (session, output) =>
            {
                if (tokenId is not null)
                {
                    var owner = await session.Accounts.RevokeTokenByIdAsync(tokenId, cancellationToken);
                    if (owner is null)
                    {
                        await parse.InvocationConfiguration.Error.WriteLineAsync($"error: there is no token with id '{tokenId}' (token list shows them).");
                        return ExitCodes.Failed;
                    }

                    await session.AuditAsync(owner, AuditActions.TokenRevoke, cancellationToken, tokenId.ToLowerInvariant());
                    await output.WriteLineAsync($"Revoked token {tokenId.ToLowerInvariant()} of {owner}.");
                    return ExitCodes.Ok;
                }

                var name = parse.GetValue(account);
                if (name is not null && !await session.Accounts.ExistsAsync(name, cancellationToken))
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"error: there is no account named '{name}'.");
                    return ExitCodes.Failed;
                }

                var revoked = await session.Accounts.RevokeTokensAsync(name, cancellationToken);
                await session.AuditAsync(name, AuditActions.TokenRevoke, cancellationToken);
                await output.WriteLineAsync($"Revoked {revoked} token(s){(name is null ? string.Empty : $" of {name}")}.");
                return ExitCodes.Ok;
            }, cancellationToken);
        });
        return command;
    }

    private static Command Purge(Option<string?> database)
    {
        var includeRetained = new Option<bool>("--include-retained")
        {
            Description = "Also delete expired tokens still inside the retention window (they will answer 'Invalid token' instead of 'Expired token').",
        };
        var retention = SettingOptions.Create(TokenGateSettingsTable.ExpiredRetention);
        var command = new Command("purge", "Delete expired tokens past the retention window now, in small batches (the server's sweeper does this on its own).") { includeRetained, retention };
        command.SetAction((parse, cancellationToken) => TokenGateCli.Guard(parse, async () =>
        {
            var overrides = SettingOptions.Overrides(parse, [(TokenGateSettingsTable.ExpiredRetention, retention)]);
            await using var session = await OperatorSession.OpenAsync(parse.GetValue(database), parse.InvocationConfiguration.Error, cancellationToken, overrides);
            var purged = await session.Accounts.PurgeExpiredTokensAsync(parse.GetValue(includeRetained), batchSize: 500, TimeSpan.FromMilliseconds(10), cancellationToken);
            await parse.InvocationConfiguration.Output.WriteLineAsync($"Purged {purged} expired token(s).");
            return ExitCodes.Ok;
        }));
        return command;
    }
}

internal static class Cli
{
    public static string Time(long unixSeconds) => DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    public static async Task WriteTableAsync(TextWriter output, string[] headers, IEnumerable<string[]> rows)
    {
        var all = new List<string[]> { headers };
        all.AddRange(rows);
        var widths = headers.Select((_, column) => all.Max(row => row[column].Length)).ToArray();
        foreach (var row in all)
        {
            await output.WriteLineAsync(string.Join("  ", row.Select((cell, column) => column == row.Length - 1 ? cell : cell.PadRight(widths[column]))));
        }
    }
}
