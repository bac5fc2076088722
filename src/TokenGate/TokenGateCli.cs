using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TokenGate.Server.Configuration;
using TokenGate.Storage.Sqlite;

namespace TokenGate.Cli;

/// <summary>The <c>tokengate</c> command line: <c>serve</c>, and the operator commands <c>account</c>, <c>operator</c> and <c>token</c>.</summary>
public static class TokenGateCli
{
    public static async Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, TextReader input, CancellationToken cancellationToken = default)
    {
        var root = Build(input);
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,

            // serve shuts down gracefully on SIGTERM/SIGINT through the host; the other commands are short.
            ProcessTerminationTimeout = null,
        };

        return await root.Parse(args).InvokeAsync(configuration, cancellationToken);
    }

    public static RootCommand Build(TextReader input)
    {
        var database = (Option<string?>)SettingOptions.Create(TokenGateSettingsTable.Database);
        database.Recursive = true;
        var verbose = new Option<bool>(VerboseOption) { Description = "On a start-up failure, also print the exception with its stack trace.", Recursive = true };

        var root = new RootCommand("TokenGate: issues, validates and revokes short-lived API access tokens, wire-compatible with the ContactNow token API.");
        root.Options.Add(database);
        root.Options.Add(verbose);
        root.Subcommands.Add(ServeCommand(database));
        root.Subcommands.Add(AccountCommands.Build(database, input));
        root.Subcommands.Add(OperatorCommands.Build(database, input));
        root.Subcommands.Add(TokenCommands.Build(database));
        root.Subcommands.Add(KeyCommands.Build(database));
        root.Subcommands.Add(AuditCommand.Build(database));
        root.Subcommands.Add(ThrottleCommands.Build(database));
        root.Subcommands.Add(ConfigCommands.Build(database));
        root.Subcommands.Add(BackupCommand.Build(database));
        root.Subcommands.Add(CompletionCommand.Build());
        return root;
    }

    /// <summary>The global switch that shows the exception behind a start-up failure.</summary>
    internal const string VerboseOption = "--verbose";

    /// <summary>
    /// serve's options, made from the settings table (--database is the root's, shared with every command); new instances for
    /// each command that takes them (serve, config show, config check).
    /// </summary>
    internal static List<(TokenGateSetting Setting, Option Option)> SettingOptionsOfServe() =>
        TokenGateSettingsTable.All
            .Where(setting => setting.Option is not null && setting != TokenGateSettingsTable.Database)
            .Select(setting => (Setting: setting, Option: SettingOptions.Create(setting)))
            .ToList();

    /// <summary>Warns on standard error about keys of the TokenGate section that no setting reads; start-up goes on.</summary>
    internal static void WarnAboutUnknownSettings(IConfigurationRoot configuration, TextWriter error)
    {
        foreach (var warning in SettingSources.UnknownKeyWarnings(configuration))
        {
            error.WriteLine($"warning: {warning}");
        }
    }

    private static Command ServeCommand(Option<string?> database)
    {
        var options = SettingOptionsOfServe();
        var demo = new Option<bool>("--demo") { Description = "On first start, create a 'demo' account and print its password and a ready curl command, once. Loopback only." };

        var command = new Command("serve", "Run the token server.");
        foreach (var (_, option) in options)
        {
            command.Options.Add(option);
        }

        command.Options.Add(demo);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var overrides = SettingOptions.Overrides(parse, [.. options, (TokenGateSettingsTable.Database, database)]);
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var verbose = parse.GetValue<bool>(VerboseOption);
            return await Guard(parse, async () =>
            {
                var starting = true;
                await using var app = await TokenGateApplication.BuildAsync(
                    overrides,
                    builder =>
                    {
                        WarnAboutUnknownSettings(builder.Configuration, error);
                        TokenGate.OperatorConsole.TokenGateConsole.AddTo(builder);

                        // The host logs a failure to start (a port in use) with its stack trace before it rethrows it; Guard
                        // prints the one line an operator needs instead, and --verbose the exception.
                        builder.Logging.AddFilter(HostCategory, level => level >= LogLevel.Information && (verbose || !starting));
                    },
                    cancellationToken);
                var withDemo = parse.GetValue(demo);
                if (withDemo && !await DemoAccount.AllowedAsync(app, error))
                {
                    return ExitCodes.BadConfiguration;
                }

                await app.StartAsync(cancellationToken);
                starting = false;
                if (withDemo)
                {
                    await DemoAccount.CreateAndPrintAsync(app, output, cancellationToken);
                    if (TokenGate.OperatorConsole.TokenGateConsole.Address(app) is { } console)
                    {
                        await output.WriteLineAsync($"Operator console: {console}");
                    }
                }

                await app.WaitForShutdownAsync(cancellationToken);
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>
    /// Turns the failures an operator can fix into one or two lines and the README's exit code, never a stack trace (unless
    /// --verbose asks for it).
    /// </summary>
    internal static async Task<int> Guard(ParseResult parse, Func<Task<int>> body)
    {
        var error = parse.InvocationConfiguration.Error;
        try
        {
            return await body();
        }
        catch (Exception exception) when (StartupFailures.Describe(exception) is { } failure)
        {
            foreach (var line in failure.Lines)
            {
                await error.WriteLineAsync($"error: {line}");
            }

            if (parse.GetValue<bool>(VerboseOption))
            {
                await error.WriteLineAsync(exception.ToString());
            }

            return failure.ExitCode;
        }
    }
}
