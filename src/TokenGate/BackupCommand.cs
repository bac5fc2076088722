using TokenGate.Server.Configuration;
using TokenGate.Storage.Postgres;
using TokenGate.Storage.Sqlite;

namespace TokenGate.Cli;

/// <summary>
/// <c>tokengate backup PATH</c>: a consistent copy of the SQLite database, taken while the server runs (SQLite's online backup
/// API). PostgreSQL has its own tool for that, <c>pg_dump</c>, which the command points to.
/// </summary>
internal static class BackupCommand
{
    public static Command Build(Option<string?> database)
    {
        var path = new Argument<string>("PATH") { Description = "The file to write; replaced atomically if it exists." };
        var command = new Command(
            "backup",
            "Copy the SQLite database to PATH, consistently, while the server runs (the sealing key is not in it). For PostgreSQL, use pg_dump.")
        {
            path,
        };
        command.SetAction((parse, cancellationToken) => TokenGateCli.Guard(parse, async () =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var values = new List<KeyValuePair<string, string?>>();
            if (parse.GetValue(database) is { } given)
            {
                values.Add(new(TokenGateSettingsTable.Database.Path, given));
            }

            var configuration = OperatorSession.ReadConfiguration(values);
            TokenGateCli.WarnAboutUnknownSettings(configuration, error);
            var settings = TokenGateSettings.FromConfiguration(configuration);
            if (settings.IsPostgres)
            {
                await error.WriteLineAsync(
                    $"error: backup copies the SQLite file; for {TokenGateStores.Describe(settings.Database)} use PostgreSQL's own tool, e.g. "
                    + "'pg_dump --format=custom --file=tokengate.dump DATABASE' (restore with pg_restore); see docs/OPERATIONS.md.");
                return ExitCodes.Failed;
            }

            if (!File.Exists(settings.Database))
            {
                await error.WriteLineAsync($"error: there is no SQLite database at {Path.GetFullPath(settings.Database)}; check --database (TOKENGATE_DATABASE).");
                return ExitCodes.StorageUnavailable;
            }

            var destination = parse.GetValue(path)!;
            if (string.Equals(Path.GetFullPath(destination), Path.GetFullPath(settings.Database), StringComparison.Ordinal))
            {
                await error.WriteLineAsync("error: PATH is the database itself; give the backup another file name.");
                return ExitCodes.Failed;
            }

            var bytes = await Task.Run(() => SqliteBackup.Create(settings.Database, destination, TimeSpan.FromSeconds(5)), cancellationToken);
            await output.WriteLineAsync(
                $"""
                Backed up {Path.GetFullPath(settings.Database)} to {Path.GetFullPath(destination)} ({bytes:N0} bytes).
                The sealing key is not in it: back up {KeyFile(settings)} apart from it, and restore both (with another key, the restored tokens are refused and clients get new ones).
                """);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string KeyFile(TokenGateSettings settings) =>
        settings.SealingKey is null ? settings.ResolvedKeyFile : TokenGateSettingsTable.SealingKey.EnvironmentVariable;
}
