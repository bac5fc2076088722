using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGate.Accounts;
using TokenGate.Configuration;
using TokenGate.Security;
using TokenGate.Server.Configuration;
using TokenGate.Storage.Postgres;

namespace TokenGate.Cli;

/// <summary>
/// <c>tokengate config show</c>: the effective settings and where each came from, secrets hidden; <c>tokengate config check</c>:
/// everything <c>serve</c> checks before it listens (settings, certificate, sealing key, database), without listening.
/// </summary>
internal static class ConfigCommands
{
    public const string Hidden = "(set, hidden)";

    public static Command Build(Option<string?> database) =>
        new("config", "See and check the configuration serve would run with.")
        {
            Show(database),
            Check(database),
        };

    private static Command Show(Option<string?> database)
    {
        var options = TokenGateCli.SettingOptionsOfServe();
        var command = new Command("show", "Print every setting's effective value and where it came from (default, appsettings.json, environment, option); secrets are hidden.");
        options.ForEach(pair => command.Options.Add(pair.Option));
        command.SetAction((parse, cancellationToken) => TokenGateCli.Guard(parse, async () =>
        {
            var configuration = OperatorSession.ReadConfiguration(SettingOptions.Overrides(parse, [.. options, (TokenGateSettingsTable.Database, database)]));
            TokenGateCli.WarnAboutUnknownSettings(configuration, parse.InvocationConfiguration.Error);
            var rows = TokenGateSettingsTable.All.Select(setting => new[] { setting.Key, Value(configuration, setting), SettingSources.Of(configuration, setting) });
            await Cli.WriteTableAsync(parse.InvocationConfiguration.Output, ["SETTING", "VALUE", "FROM"], rows);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Check(Option<string?> database)
    {
        var options = TokenGateCli.SettingOptionsOfServe();
        var command = new Command(
            "check",
            "Check everything serve checks before it listens (settings, certificate, sealing key, database: created or migrated as serve would) and exit 0, or with serve's error.");
        options.ForEach(pair => command.Options.Add(pair.Option));
        command.SetAction((parse, cancellationToken) => TokenGateCli.Guard(parse, async () =>
        {
            var overrides = SettingOptions.Overrides(parse, [.. options, (TokenGateSettingsTable.Database, database)]);
            await using var app = await TokenGateApplication.BuildAsync(
                overrides,
                builder =>
                {
                    TokenGateCli.WarnAboutUnknownSettings(builder.Configuration, parse.InvocationConfiguration.Error);
                    builder.Logging.ClearProviders();
                },
                cancellationToken);
            var settings = app.Services.GetRequiredService<TokenGateSettings>();
            var key = app.Services.GetRequiredService<LoadedKeyRing>().Ring.Active;
            await parse.InvocationConfiguration.Output.WriteLineAsync(
                $"Configuration OK: {TokenGateStores.Describe(settings.Database)} is open, the sealing key {key.Fingerprint} is loaded; serve would listen on {settings.Urls}.");
            var clashes = await AccountNameClashes.FindAsync(app.Services.GetRequiredService<ITokenGateStore>(), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), cancellationToken);
            if (clashes.Count > 0)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"warning: {AccountNameClashes.Describe(clashes)}");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The value as configured (or the default), never a secret: a connection string is shown by host, port and database.</summary>
    internal static string Value(IConfiguration configuration, TokenGateSetting setting)
    {
        var section = configuration.GetSection(TokenGateConfiguration.SectionName);
        var text = setting is IListSetting list
            ? string.Join(",", new[] { setting.Key, list.ArrayKey }.SelectMany(key => Networks.Entries(section[key], section.GetSection(key).GetChildren().Select(child => child.Value))))
            : section[setting.Key];
        text = string.IsNullOrEmpty(text) ? null : text;
        if (setting.Secret)
        {
            return text is null ? "(none)" : Hidden;
        }

        if (setting == TokenGateSettingsTable.Database)
        {
            var database = text ?? TokenGateSettings.DefaultDatabase;
            return PostgresConnectionString.IsConnectionString(database)
                ? $"PostgreSQL {PostgresConnectionString.Describe(database)} (user and password hidden)"
                : database;
        }

        if (setting == TokenGateSettingsTable.KeyFile && text is null)
        {
            var database = section[TokenGateSettingsTable.Database.Key] is { Length: > 0 } given ? given : TokenGateSettings.DefaultDatabase;
            return PostgresConnectionString.IsConnectionString(database) ? "(none)" : new TokenGateSettings { Database = database }.ResolvedKeyFile;
        }

        return text ?? setting.DefaultText ?? "(none)";
    }
}
