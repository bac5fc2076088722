using System.CommandLine;
using Microsoft.Extensions.Hosting;
using TokenGate.Security;
using TokenGate.Server.Hosting;
using TokenGate.Storage;
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
        var database = new Option<string?>("--database")
        {
            Description = "The SQLite database file (default data/tokengate.db), or a PostgreSQL connection string (postgres://USER:PASSWORD@HOST:PORT/DATABASE or Host=...;Username=...;Database=...) shared by several instances; also TOKENGATE_DATABASE.",
            HelpName = "PATH",
            Recursive = true,
        };

        var root = new RootCommand("TokenGate: issues, validates and revokes short-lived API access tokens, wire-compatible with the ContactNow token API.");
        root.Options.Add(database);
        root.Subcommands.Add(ServeCommand(database));
        root.Subcommands.Add(AccountCommands.Build(database, input));
        root.Subcommands.Add(TokenCommands.Build(database));
        root.Subcommands.Add(AuditCommand.Build(database));
        return root;
    }

    private static Command ServeCommand(Option<string?> database)
    {
        var urls = new Option<string?>("--urls") { Description = $"Where to listen, ';'-separated (default {TokenGateSettings.DefaultUrls}; also TOKENGATE_URLS).", HelpName = "URLS" };
        var keyFile = new Option<string?>("--key-file") { Description = "The sealing key file (default tokengate.key beside the SQLite database; required with PostgreSQL unless TOKENGATE_SEALING_KEY is set; also TOKENGATE_KEY_FILE).", HelpName = "PATH" };
        var lifetime = new Option<string?>("--token-lifetime") { Description = "Token lifetime in seconds, or with a unit (12h) (default 43200; also TOKENGATE_TOKEN_LIFETIME).", HelpName = "SECONDS" };
        var retention = new Option<string?>("--expired-retention") { Description = "How long expired tokens still answer 'Expired token' (default 7d; also TOKENGATE_EXPIRED_RETENTION).", HelpName = "DURATION" };
        var proxies = new Option<string[]>("--trusted-proxy")
        {
            Description = "A proxy whose X-Forwarded-For is believed: an IP or CIDR; repeatable (also TOKENGATE_TRUSTED_PROXY, comma-separated).",
            HelpName = "IP|CIDR",
            AllowMultipleArgumentsPerToken = false,
        };
        var requirePost = new Option<bool>("--require-post-credentials")
        {
            Description = "Refuse a get or newpass whose password is in the query string (Bad argument: password); recommended for new deployments (also TOKENGATE_REQUIRE_POST_CREDENTIALS).",
        };
        var certificate = new Option<string?>("--certificate") { Description = "Serve HTTPS with this certificate: a .pfx/.p12 file or a PEM file (also TOKENGATE_CERTIFICATE). Use https:// in --urls.", HelpName = "PATH" };
        var certificatePassword = new Option<string?>("--certificate-password") { Description = "The password of the .pfx file or of an encrypted PEM key (better: TOKENGATE_CERTIFICATE_PASSWORD).", HelpName = "PASSWORD" };
        var certificateKey = new Option<string?>("--certificate-key") { Description = "The PEM private key, when it is not in the certificate file (also TOKENGATE_CERTIFICATE_KEY).", HelpName = "PATH" };
        var auditRetention = new Option<string?>("--audit-retention") { Description = "How long audit entries are kept (default 90d; also TOKENGATE_AUDIT_RETENTION).", HelpName = "DURATION" };
        var logFormat = new Option<string?>("--log-format") { Description = "Console log format: text (default) or json (also TOKENGATE_LOG_FORMAT).", HelpName = "text|json" };
        var requestLog = new Option<bool>("--request-log") { Description = "Log one line per request, secrets redacted (also TOKENGATE_REQUEST_LOG)." };
        var otlp = new Option<string?>("--otlp-endpoint") { Description = "Export metrics over OTLP/HTTP to this collector, e.g. http://127.0.0.1:4318 (also TOKENGATE_OTLP_ENDPOINT).", HelpName = "URL" };
        var demo = new Option<bool>("--demo") { Description = "On first start, create a 'demo' account and print its password and a ready curl command, once. Loopback only." };

        var command = new Command("serve", "Run the token server.")
        {
            urls, keyFile, lifetime, retention, proxies, requirePost, certificate, certificatePassword, certificateKey, auditRetention, logFormat, requestLog, otlp, demo,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var overrides = new List<KeyValuePair<string, string?>>();
            Add(overrides, TokenGateKeys.Urls, parse.GetValue(urls));
            Add(overrides, TokenGateKeys.Database, parse.GetValue(database));
            Add(overrides, TokenGateKeys.KeyFile, parse.GetValue(keyFile));
            Add(overrides, TokenGateKeys.TokenLifetime, parse.GetValue(lifetime));
            Add(overrides, TokenGateKeys.ExpiredRetention, parse.GetValue(retention));
            Add(overrides, TokenGateKeys.Certificate, parse.GetValue(certificate));
            Add(overrides, TokenGateKeys.CertificatePassword, parse.GetValue(certificatePassword));
            Add(overrides, TokenGateKeys.CertificateKey, parse.GetValue(certificateKey));
            Add(overrides, TokenGateKeys.AuditRetention, parse.GetValue(auditRetention));
            Add(overrides, TokenGateKeys.LogFormat, parse.GetValue(logFormat));
            Add(overrides, TokenGateKeys.OtlpEndpoint, parse.GetValue(otlp));
            if (parse.GetValue(requestLog))
            {
                Add(overrides, TokenGateKeys.RequestLog, "true");
            }

            if (parse.GetValue(requirePost))
            {
                Add(overrides, TokenGateKeys.RequirePostCredentials, "true");
            }

            if (parse.GetValue(proxies) is { Length: > 0 } trusted)
            {
                Add(overrides, TokenGateKeys.TrustedProxy, string.Join(',', trusted));
            }

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

    private static void Add(List<KeyValuePair<string, string?>> overrides, string key, string? value)
    {
        if (value is not null)
        {
            overrides.Add(new(key, value));
        }
    }
}
