using TokenGate.Security;
using TokenGate.Server.Configuration;

namespace TokenGate.Cli;

/// <summary>
/// <c>tokengate key init</c>: creates the sealing key file before the first start, where serve would create it (its
/// <c>--key-file</c>, or <c>tokengate.key</c> beside the SQLite database), so that a service whose key folder is read-only to it
/// (deploy/tokengate.service) only ever reads the key.
/// </summary>
internal static class KeyCommands
{
    public static Command Build(Option<string?> database)
    {
        var command = new Command("key", "Manage the sealing key file.");
        command.Subcommands.Add(Init(database));
        return command;
    }

    private static Command Init(Option<string?> database)
    {
        var keyFile = (Option<string?>)SettingOptions.Create(TokenGateSettingsTable.KeyFile);
        var command = new Command(
            "init",
            "Create the sealing key file (mode 0600) that serve will use, before the first start; a key file that exists is checked and left as it is.")
        {
            keyFile,
        };
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
            var key = SealingKey.LoadOrCreate(path);
            await parse.InvocationConfiguration.Output.WriteLineAsync(existed
                ? $"The key file {path} exists (key {key.Fingerprint}); left as it is."
                : $"Created the key file {path} (key {key.Fingerprint}, mode 0600). Keep it out of database backups.");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
