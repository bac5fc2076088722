using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Operators;

namespace TokenGate.Cli;

/// <summary>
/// <c>serve --demo</c>: a newcomer's first minutes. When the server listens on loopback only, creates an account named
/// <c>demo</c> with a generated password (if it does not exist yet) and prints the password and a ready curl command to the
/// terminal, once, after the server listens; and the same for a console operator named <c>admin</c>. The password goes to standard output, never to a log; it is not shown again on later
/// starts.
/// </summary>
internal sealed class DemoAccount
{
    public const string Name = "demo";

    /// <summary>The console operator <c>--demo</c> creates beside the account.</summary>
    public const string OperatorName = "admin";

    /// <summary>Whether --demo is allowed: every listener is loopback; otherwise false, with a message on <paramref name="error"/>.</summary>
    public static async Task<bool> AllowedAsync(WebApplication app, TextWriter error)
    {
        var settings = app.Services.GetRequiredService<TokenGateSettings>();
        if (ConsoleOptions.ListensOnLoopbackOnly(settings.Urls))
        {
            return true;
        }

        await error.WriteLineAsync("error: --demo creates an account with a printed password, so it is allowed only when every --urls address is loopback (127.0.0.1, [::1], localhost).");
        return false;
    }

    /// <summary>
    /// Creates the account if it is missing and prints its password; called only once the server listens, so that a start that
    /// fails (a port in use) never creates an account whose password nobody saw. An account that exists already is said to
    /// exist, without claiming its password was shown: it may have been created by <c>account add</c>, or by an older build.
    /// </summary>
    public static async Task CreateAndPrintAsync(WebApplication app, TextWriter output, CancellationToken cancellationToken)
    {
        var accounts = app.Services.GetRequiredService<AccountService>();
        var change = await accounts.CreateAsync(Name, password: null, cancellationToken);
        var createdPassword = change.Status == AccountChangeStatus.Done ? change.GeneratedPassword : null;
        if (createdPassword is not null)
        {
            // Audited as account add would be: an account appeared, made by the operator who typed --demo.
            await app.Services.GetRequiredService<ITokenGateStore>().AppendAuditAsync(
                [new AuditEntry(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds(), Name, AuditActions.OperatorClient, AuditActions.AccountAdd, AuditActions.Done)],
                cancellationToken);
        }

        var databaseArgument = DatabaseArgument(app.Services.GetRequiredService<TokenGateSettings>().Database);
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? TokenGateSettings.DefaultUrls;
        var endpoint = url.TrimEnd('/') + "/token.php";
        if (createdPassword is null)
        {
            await output.WriteLineAsync(
                $"""

                TokenGate demo: the account '{Name}' already exists, so no password is printed (TokenGate keeps only a hash of it).
                If you do not have its password, give it a new one with:  dotnet run --project src/TokenGate -- account passwd {Name}{databaseArgument}

                """.AsMemory(), cancellationToken);
        }
        else
        {
            await output.WriteLineAsync(
                $"""

                TokenGate demo account created. Its password is shown this once; keep it, or set a new one with 'account passwd {Name}{databaseArgument}'.
                  username: {Name}
                  password: {createdPassword}

                Get a token (JSON):
                  curl -s -d action=get -d username={Name} -d password={createdPassword} {endpoint}
                The same in XML:
                  curl -s -d action=get -d username={Name} -d password={createdPassword} -d format=xml {endpoint}
                Then validate it:
                  curl -s -d action=validate -d token=TOKEN {endpoint}

                """.AsMemory(), cancellationToken);
        }

        await CreateOperatorAndPrintAsync(app, output, databaseArgument, cancellationToken);
    }

    /// <summary>
    /// The console operator of the demo, made and told the same way as the account: created if missing, its generated password
    /// printed once; one that exists already is said to exist, without a password.
    /// </summary>
    private static async Task CreateOperatorAndPrintAsync(WebApplication app, TextWriter output, string databaseArgument, CancellationToken cancellationToken)
    {
        var change = await app.Services.GetRequiredService<OperatorService>().AddAsync(OperatorName, password: null, cancellationToken);
        var createdPassword = change.Status == AccountChangeStatus.Done ? change.GeneratedPassword : null;
        if (createdPassword is null)
        {
            await output.WriteLineAsync(
                $"""
                TokenGate demo: the console operator '{OperatorName}' already exists, so no password is printed (TokenGate keeps only a hash of it).
                If you do not have its password, give it a new one with:  dotnet run --project src/TokenGate -- operator passwd {OperatorName}{databaseArgument}

                """.AsMemory(), cancellationToken);
            return;
        }

        // Audited as operator add would be.
        await app.Services.GetRequiredService<AuditService>().AppendAsync(
            new AuditEntry(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds(), OperatorName, AuditActions.OperatorClient, AuditActions.OperatorAdd, AuditActions.Done),
            cancellationToken);
        await output.WriteLineAsync(
            $"""
            TokenGate console operator created (for the operator console, not the API). Its password is shown this once; keep it, or set a new one with 'operator passwd {OperatorName}{databaseArgument}'.
              username: {OperatorName}
              password: {createdPassword}

            """.AsMemory(), cancellationToken);
    }

    /// <summary>
    /// <c> --database PATH</c> (quoted when it holds spaces) unless it is the default, for the commands the demo suggests; a
    /// PostgreSQL connection string is never printed (it may hold a password), only a placeholder for it.
    /// </summary>
    internal static string DatabaseArgument(string database) =>
        database == TokenGateSettings.DefaultDatabase ? string.Empty
        : TokenGateStores.IsPostgres(database) ? " --database CONNECTION-STRING"
        : database.Contains(' ', StringComparison.Ordinal) ? $" --database '{database}'"
        : $" --database {database}";
}
