using Microsoft.Extensions.Hosting;
using TokenGate.Security;
using TokenGate.Server.Configuration;
using TokenGate.Storage.Sqlite;

namespace TokenGate.Cli;

/// <summary>The <c>tokengate</c> command line: <c>serve</c>, and the operator commands <c>account</c> and <c>token</c>.</summary>
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

        var root = new RootCommand("TokenGate: issues, validates and revokes short-lived API access tokens, wire-compatible with the ContactNow token API.");
        root.Options.Add(database);
        root.Subcommands.Add(ServeCommand(database));
        root.Subcommands.Add(AccountCommands.Build(database, input));
        root.Subcommands.Add(TokenCommands.Build(database));
        root.Subcommands.Add(AuditCommand.Build(database));
        root.Subcommands.Add(ThrottleCommands.Build(database));
        return root;
    }

    private static Command ServeCommand(Option<string?> database)
    {
        // serve's options are made from the settings table (--database is the root's, shared with every command).
        var options = TokenGateSettingsTable.All
            .Where(setting => setting.Option is not null && setting != TokenGateSettingsTable.Database)
            .Select(setting => (Setting: setting, Option: SettingOptions.Create(setting)))
            .ToList();
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
            return await Guard(error, async () =>
            {
                await using var app = await TokenGateApplication.BuildAsync(overrides, cancellationToken: cancellationToken);
                DemoAccount? demoAccount = null;
                if (parse.GetValue(demo) && (demoAccount = await DemoAccount.PrepareAsync(app, error, cancellationToken)) is null)
                {
                    return ExitCodes.BadConfiguration;
                }

                await app.StartAsync(cancellationToken);
                if (demoAccount is not null)
                {
                    await demoAccount.PrintAsync(app, output, cancellationToken);
                }

                await app.WaitForShutdownAsync(cancellationToken);
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    /// <summary>Turns the failures an operator can fix into a message and an exit code, never a stack trace.</summary>
    internal static async Task<int> Guard(TextWriter error, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (TokenGateConfigurationException exception)
        {
            foreach (var message in exception.Errors)
            {
                await error.WriteLineAsync($"error: {message}");
            }

            return ExitCodes.BadConfiguration;
        }
        catch (Exception exception) when (exception is SealingKeyException or StorageSchemaException)
        {
            await error.WriteLineAsync($"error: {exception.Message}");
            return ExitCodes.BadConfiguration;
        }
        catch (StorageUnavailableException exception)
        {
            await error.WriteLineAsync($"error: {exception.Message}");
            return ExitCodes.StorageUnavailable;
        }
        catch (IOException exception) when (exception.GetBaseException() is System.Net.Sockets.SocketException)
        {
            await error.WriteLineAsync($"error: cannot listen: {exception.Message}");
            return ExitCodes.Failed;
        }
        catch (IOException exception)
        {
            // E.g. the database's folder cannot be created because a file stands in its path.
            await error.WriteLineAsync($"error: cannot open or create a file TokenGate needs: {exception.Message}");
            return ExitCodes.StorageUnavailable;
        }
        catch (UnauthorizedAccessException exception)
        {
            await error.WriteLineAsync($"error: {exception.Message}");
            return ExitCodes.StorageUnavailable;
        }
    }
}
