using TokenGate.Security;
using TokenGate.Server.Configuration;
using TokenGate.Server.Security;

namespace TokenGate.Cli;

/// <summary>
/// <c>tokengate key init|list|add|activate|retire</c>: the sealing-key ring in the key file. Key material is never printed. Each
/// change writes the file atomically (mode 0600) and is audited; a running server takes it on SIGHUP. <c>init</c> creates the file
/// before the first start, where serve would (its <c>--key-file</c>, or <c>tokengate.key</c> beside the SQLite database), so that a
/// service whose key folder is read-only to it (deploy/tokengate.service) only ever reads the key.
/// </summary>
internal static class KeyCommands
{
    public static Command Build(Option<string?> database)
    {
        var keyFile = (Option<string?>)SettingOptions.Create(TokenGateSettingsTable.KeyFile);
        keyFile.Recursive = true;
        var command = new Command("key", "The sealing-key ring: create it, list, add, activate and retire keys (a running server reloads it on SIGHUP).") { keyFile };
        command.Subcommands.Add(Init(database, keyFile));
        command.Subcommands.Add(List(database, keyFile));
        command.Subcommands.Add(Add(database, keyFile));
        command.Subcommands.Add(Activate(database, keyFile));
        command.Subcommands.Add(Retire(database, keyFile));
        return command;
    }

    private static Command Init(Option<string?> database, Option<string?> keyFile)
    {
        var command = new Command(
            "init",
            "Create the sealing key file (mode 0600) that serve will use, before the first start; a key file that exists is checked and left as it is.");
        command.SetAction((parse, cancellationToken) => TokenGateCli.Guard(parse, async () =>
        {
            var configuration = OperatorSession.ReadConfiguration(SettingOptions.Overrides(parse, [(TokenGateSettingsTable.KeyFile, keyFile), (TokenGateSettingsTable.Database, database)]));
            var error = parse.InvocationConfiguration.Error;
            TokenGateCli.WarnAboutUnknownSettings(configuration, error);
            var settings = TokenGateSettings.FromConfiguration(configuration);
            if (settings.SealingKey is not null)
            {
                await error.WriteLineAsync($"error: {TokenGateSettingsTable.SealingKey.EnvironmentVariable} is set: serve takes the key from it and uses no key file.");
                return ExitCodes.BadConfiguration;
            }

            if (settings.IsPostgres && settings.KeyFile is null)
            {
                await error.WriteLineAsync($"error: with a PostgreSQL database, name the key file every instance will use: {TokenGateSettingsTable.KeyFile.Option} PATH.");
                return ExitCodes.BadConfiguration;
            }

            var path = Path.GetFullPath(settings.ResolvedKeyFile);
            var existed = File.Exists(path);
            var active = SealingKeyRing.LoadOrCreate(path).Active;
            await parse.InvocationConfiguration.Output.WriteLineAsync(existed
                ? $"The key file {path} exists (active key {active.DisplayId}, {active.Fingerprint}); left as it is."
                : $"Created the key file {path} (key {active.DisplayId}, {active.Fingerprint}, mode 0600). Keep it out of database backups.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List(Option<string?> database, Option<string?> keyFile)
    {
        var command = new Command("list", "List the keys: id, fingerprint, state, created, and how many live tokens each sealed (never the keys).");
        command.SetAction((parse, cancellationToken) => Run(parse, database, keyFile, cancellationToken, async (ring, session, path, output) =>
        {
            var live = await LiveTokensAsync(session, cancellationToken);
            var rows = ring.Keys.Select(k => new[]
            {
                k.DisplayId, k.Fingerprint, RingKey.StateName(k.State), k.CreatedAt is { } created ? Cli.Time(created.ToUnixTimeSeconds()) : "-",
                live.GetValueOrDefault(k.Fingerprint).ToString(System.Globalization.CultureInfo.InvariantCulture),
            }).ToList();
            rows.AddRange(ring.Missing(live).Select(pair => new[] { "?", pair.Key, "missing", "-", pair.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
            await Cli.WriteTableAsync(output, ["ID", "FINGERPRINT", "STATE", "CREATED (UTC)", "LIVE TOKENS"], rows);
            if (ring.Missing(live).Count > 0)
            {
                await output.WriteLineAsync("(a missing key: live tokens were sealed under a key this ring lacks; a server refuses to start with it)");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Add(Option<string?> database, Option<string?> keyFile)
    {
        var command = new Command("add", "Add a new random key as accepted (it opens tokens, seals none until activated).");
        command.SetAction((parse, cancellationToken) => Run(parse, database, keyFile, cancellationToken, async (ring, session, path, output) =>
        {
            var changed = ring.WithNewKey(TimeProvider.System.GetUtcNow());
            var added = changed.Keys[^1];
            changed.Save(path);
            await session.AuditAsync(null, $"{AuditKeyAdd} {added.DisplayId} ({added.Fingerprint})", cancellationToken);
            await output.WriteLineAsync($"Added key {added.DisplayId} ({added.Fingerprint}, accepted) to {path}.");
            await output.WriteLineAsync($"Copy it to every instance and reload each (kill -HUP), then: tokengate key activate {added.DisplayId}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Activate(Option<string?> database, Option<string?> keyFile)
    {
        var id = new Argument<string>("ID") { Description = "The key's id (or fingerprint)." };
        var command = new Command("activate", "Make a key active: it tags and seals new tokens; the key active before stays accepted.") { id };
        command.SetAction((parse, cancellationToken) => Run(parse, database, keyFile, cancellationToken, async (ring, session, path, output) =>
        {
            if (await FindAsync(parse, ring, parse.GetValue(id)!) is not { } key)
            {
                return ExitCodes.Failed;
            }

            if (key.State == SealingKeyState.Active)
            {
                await output.WriteLineAsync($"Key {key.DisplayId} ({key.Fingerprint}) is already active.");
                return ExitCodes.Ok;
            }

            if (key.State == SealingKeyState.Retired)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: key {key.DisplayId} is retired; add a new key instead.");
                return ExitCodes.Failed;
            }

            var previous = ring.Active;
            ring.WithActive(key).Save(path);
            await session.AuditAsync(null, $"{AuditKeyActivate} {key.DisplayId} ({key.Fingerprint})", cancellationToken);
            await output.WriteLineAsync($"Key {key.DisplayId} ({key.Fingerprint}) is active; key {previous.DisplayId} ({previous.Fingerprint}) is accepted.");
            await output.WriteLineAsync($"Copy {path} to every instance and reload each (kill -HUP). Retire key {previous.DisplayId} once the tokens it sealed have expired (the longest token lifetime plus the retention window).");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Retire(Option<string?> database, Option<string?> keyFile)
    {
        var id = new Argument<string>("ID") { Description = "The key's id, or the fingerprint of a key the ring lacks." };
        var force = new Option<bool>("--force") { Description = "Retire it although live tokens depend on it: they stop validating and are re-issued on their next get." };
        var command = new Command("retire", "Remove a key from the ring (its id and fingerprint stay, marked retired); refused while live tokens depend on it.") { id, force };
        command.SetAction((parse, cancellationToken) => Run(parse, database, keyFile, cancellationToken, async (ring, session, path, output) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var given = parse.GetValue(id)!;
            var live = await LiveTokensAsync(session, cancellationToken);
            var key = ring.Find(given);
            if (key is null && !ring.Missing(live).Any(pair => string.Equals(pair.Key, given, StringComparison.OrdinalIgnoreCase)))
            {
                await error.WriteLineAsync($"error: the key ring has no key '{given}', and no live token was sealed under a key of that fingerprint; see tokengate key list.");
                return ExitCodes.Failed;
            }

            if (key is { State: SealingKeyState.Active })
            {
                await error.WriteLineAsync($"error: key {key.DisplayId} is the active key; activate another key first.");
                return ExitCodes.Failed;
            }

            if (key is { State: SealingKeyState.Retired })
            {
                await output.WriteLineAsync($"Key {key.DisplayId} ({key.Fingerprint}) is already retired.");
                return ExitCodes.Ok;
            }

            var fingerprint = key?.Fingerprint ?? given.ToLowerInvariant();
            var dependent = live.GetValueOrDefault(fingerprint);
            var name = key is null ? $"key {fingerprint}" : $"key {key.DisplayId} ({fingerprint})";
            if (dependent > 0 && !parse.GetValue(force))
            {
                await error.WriteLineAsync(
                    $"error: {dependent} live token(s) still depend on {name}; retire it once they have expired (the longest token lifetime plus the retention window), or now with --force (they stop validating and are re-issued on their next get).");
                return ExitCodes.Failed;
            }

            (key is null ? ring.WithRetiredUnknown(fingerprint) : ring.WithRetired(key)).Save(path);
            await session.AuditAsync(null, $"{AuditKeyRetire} {(key is null ? "-" : key.DisplayId)} ({fingerprint}){(dependent > 0 ? $" --force, {dependent} token(s) given up" : string.Empty)}", cancellationToken);
            await output.WriteLineAsync($"Retired {name}: its key material is removed from {path}.");
            if (dependent > 0)
            {
                await output.WriteLineAsync($"{dependent} token(s) sealed under it stop validating once the instances reload, and will be re-issued on their next get.");
            }

            await output.WriteLineAsync("Copy the file to every instance and reload each (kill -HUP).");
            return ExitCodes.Ok;
        }));
        return command;
    }

    internal const string AuditKeyAdd = "key.add";
    internal const string AuditKeyActivate = "key.activate";
    internal const string AuditKeyRetire = "key.retire";

    private static async Task<RingKey?> FindAsync(ParseResult parse, SealingKeyRing ring, string given)
    {
        if (ring.Find(given) is { } key)
        {
            return key;
        }

        await parse.InvocationConfiguration.Error.WriteLineAsync($"error: the key ring has no key '{given}'; see tokengate key list.");
        return null;
    }

    private static async Task<IReadOnlyDictionary<string, long>> LiveTokensAsync(OperatorSession session, CancellationToken cancellationToken) =>
        session.Store is ISealingKeyUsage usage
            ? await usage.CountTokensBySealingKeyAsync(KeyRing.LiveAfter(session.Settings.TokenPolicy.ExpiredRetention, TimeProvider.System), cancellationToken)
            : new Dictionary<string, long>();

    /// <summary>Opens the database and reads the ring from the key file (never creating one, never from TOKENGATE_SEALING_KEY); a
    /// missing key file is refused with exit code 2, naming <c>tokengate key init</c>.</summary>
    private static Task<int> Run(ParseResult parse, Option<string?> database, Option<string?> keyFile, CancellationToken cancellationToken, Func<SealingKeyRing, OperatorSession, string, TextWriter, Task<int>> body) =>
        TokenGateCli.Guard(parse, async () =>
        {
            var error = parse.InvocationConfiguration.Error;
            var overrides = SettingOptions.Overrides(parse, [(TokenGateSettingsTable.KeyFile, keyFile)]);
            await using var session = await OperatorSession.OpenAsync(parse.GetValue(database), error, cancellationToken, overrides);
            if (session.Settings.KeyFile is null && session.Settings.SealingKey is not null)
            {
                await error.WriteLineAsync(
                    $"error: the key ring comes from {TokenGateSettingsTable.SealingKey.EnvironmentVariable}, which tokengate cannot rewrite; run the key commands on a file with {TokenGateSettingsTable.KeyFile.Option} PATH and set the variable to its content.");
                return ExitCodes.BadConfiguration;
            }

            var path = Path.GetFullPath(session.Settings.ResolvedKeyFile);
            if (!File.Exists(path))
            {
                // SealingKeyRing.Load never creates one; a configuration error (exit 2) that says how to make it.
                throw new SealingKeyException(
                    $"The key file {path} does not exist; give {TokenGateSettingsTable.KeyFile.Option} the key file the servers use, or create it first with: tokengate key init {TokenGateSettingsTable.KeyFile.Option} {path}.");
            }

            var ring = SealingKeyRing.Load(path);
            return await body(ring, session, path, parse.InvocationConfiguration.Output);
        });
}
