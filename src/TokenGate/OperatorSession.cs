using Microsoft.Extensions.Configuration;
using TokenGate.Operators;
using TokenGate.Server.Configuration;
using TokenGate.Server.Security;

namespace TokenGate.Cli;

/// <summary>An operator command's view of the database: the same settings and store the server uses.</summary>
internal sealed class OperatorSession : IAsyncDisposable
{
    private OperatorSession(TokenGateSettings settings, ITokenGateStore store, AccountService accounts, OperatorService operators)
    {
        Settings = settings;
        Store = store;
        Accounts = accounts;
        Operators = operators;
    }

    public TokenGateSettings Settings { get; }

    public ITokenGateStore Store { get; }

    public AccountService Accounts { get; }

    /// <summary>Console operators (<c>tokengate operator</c>).</summary>
    public OperatorService Operators { get; }

    /// <summary>
    /// Reads the settings as serve does (warning on <paramref name="error"/> about unknown keys), opens the database and names it
    /// on <paramref name="error"/>. A SQLite file that does not exist is created only when <paramref name="mayCreate"/> (account
    /// add); otherwise <see cref="MissingDatabaseException"/>.
    /// </summary>
    public static async Task<OperatorSession> OpenAsync(string? database, TextWriter error, CancellationToken cancellationToken, IEnumerable<KeyValuePair<string, string?>>? overrides = null, bool mayCreate = false)
    {
        var values = (overrides ?? []).ToList();
        if (database is not null)
        {
            values.Add(new(TokenGateSettingsTable.Database.Path, database));
        }

        var configuration = ReadConfiguration(values);
        TokenGateCli.WarnAboutUnknownSettings(configuration, error);
        var settings = TokenGateSettings.FromConfiguration(configuration);
        if (!mayCreate && !settings.IsPostgres && !File.Exists(settings.Database))
        {
            throw new MissingDatabaseException(Path.GetFullPath(settings.Database));
        }

        var store = TokenGateStores.Create(settings.Database);
        try
        {
            await store.InitializeAsync(cancellationToken);
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }

        await error.WriteLineAsync($"{UsingPrefix}{TokenGateStores.Describe(settings.Database)}.");
        var hasher = new IdentityPasswordHasher(settings.Passwords.HashIterations);
        var accounts = new AccountService(store, hasher, settings.Passwords.Policy, settings.TokenPolicy, TimeProvider.System);
        var operators = new OperatorService(store, hasher, settings.Passwords.Policy, TimeProvider.System);
        return new OperatorSession(settings, store, accounts, operators);
    }

    /// <summary>How the line on standard error that names the database each command used begins.</summary>
    public const string UsingPrefix = "Using ";

    /// <summary>appsettings.json in the working directory, then <c>TOKENGATE_*</c> variables, then command-line values.</summary>
    public static IConfigurationRoot ReadConfiguration(IEnumerable<KeyValuePair<string, string?>> overrides) =>
        TokenGateConfiguration.ReadingFiles(() => new ConfigurationBuilder()
            .SetBasePath(Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true)
            .AddTokenGateEnvironmentVariables()
            .AddInMemoryCollection(overrides)
            .Build());

    /// <summary>
    /// Records an operator's change in the audit trail (client <c>cli</c>), with the token's id when it concerned one token, and
    /// an <paramref name="outcome"/> other than <c>done</c> when the entry must say more (what a <c>throttle clear</c> cleared).
    /// </summary>
    public ValueTask AuditAsync(string? account, string action, CancellationToken cancellationToken = default, string? tokenId = null, string outcome = AuditActions.Done) =>
        Store.AppendAuditAsync([new AuditEntry(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds(), account, AuditActions.OperatorClient, action, outcome, tokenId)], cancellationToken);

    public ValueTask DisposeAsync() => Store.DisposeAsync();
}
