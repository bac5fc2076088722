using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace TokenGate.Cli;

/// <summary>
/// <c>serve --demo</c>: a newcomer's first minutes. When the server listens on loopback only, creates an account named
/// <c>demo</c> with a generated password (if it does not exist yet) and prints the password and a ready curl command to the
/// terminal, once. The password goes to standard output, never to a log; it is not shown again on later starts.
/// </summary>
internal sealed class DemoAccount
{
    public const string Name = "demo";

    private readonly string? _createdPassword;

    /// <summary>The passwd command's arguments after <c>passwd demo</c>: the database when it is not the default.</summary>
    private readonly string _databaseArgument;

    private DemoAccount(string? createdPassword, string databaseArgument)
    {
        _createdPassword = createdPassword;
        _databaseArgument = databaseArgument;
    }

    /// <summary>Refuses non-loopback listeners (null, with a message); otherwise creates the account if it is missing.</summary>
    public static async Task<DemoAccount?> PrepareAsync(WebApplication app, TextWriter error, CancellationToken cancellationToken)
    {
        var settings = app.Services.GetRequiredService<TokenGateSettings>();
        if (!ListensOnLoopbackOnly(settings.Urls))
        {
            await error.WriteLineAsync("error: --demo creates an account with a printed password, so it is allowed only when every --urls address is loopback (127.0.0.1, [::1], localhost).");
            return null;
        }

        var accounts = app.Services.GetRequiredService<AccountService>();
        var change = await accounts.CreateAsync(Name, password: null, cancellationToken);
        if (change.Status == AccountChangeStatus.Done)
        {
            // Audited as account add would be: an account appeared, made by the operator who typed --demo.
            await app.Services.GetRequiredService<ITokenGateStore>().AppendAuditAsync(
                [new AuditEntry(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds(), Name, AuditActions.OperatorClient, AuditActions.AccountAdd, AuditActions.Done)],
                cancellationToken);
        }

        return new DemoAccount(change.Status == AccountChangeStatus.Done ? change.GeneratedPassword : null, DatabaseArgument(settings.Database));
    }

    public async Task PrintAsync(WebApplication app, TextWriter output, CancellationToken cancellationToken)
    {
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? TokenGateSettings.DefaultUrls;
        var endpoint = url.TrimEnd('/') + "/token.php";
        if (_createdPassword is null)
        {
            await output.WriteLineAsync(
                $"""

                TokenGate demo: the account '{Name}' already exists, and its password was shown when it was created.
                Give it a new one with:  dotnet run --project src/TokenGate -- account passwd {Name}{_databaseArgument}

                """.AsMemory(), cancellationToken);
            return;
        }

        await output.WriteLineAsync(
            $"""

            TokenGate demo account created. Its password is shown this once; keep it, or set a new one with 'account passwd {Name}{_databaseArgument}'.
              username: {Name}
              password: {_createdPassword}

            Get a token (JSON):
              curl -s -d action=get -d username={Name} -d password={_createdPassword} {endpoint}
            The same in XML:
              curl -s -d action=get -d username={Name} -d password={_createdPassword} -d format=xml {endpoint}
            Then validate it:
              curl -s -d action=validate -d token=TOKEN {endpoint}

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

    internal static bool ListensOnLoopbackOnly(string urls)
    {
        foreach (var url in urls.Split(';', ',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url.Replace("://*", "://wildcard", StringComparison.Ordinal).Replace("://+", "://wildcard", StringComparison.Ordinal), UriKind.Absolute, out var uri))
            {
                return false;
            }

            var host = uri.Host.Trim('[', ']');
            var loopback = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
                || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
            if (!loopback)
            {
                return false;
            }
        }

        return true;
    }
}
