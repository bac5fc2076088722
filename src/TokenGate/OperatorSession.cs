using Microsoft.Extensions.Configuration;
using TokenGate.Server.Hosting;
using TokenGate.Server.Security;
using TokenGate.Storage;

namespace TokenGate.Cli;

/// <summary>An operator command's view of the database: the same settings and store the server uses.</summary>
internal sealed class OperatorSession : IAsyncDisposable
{
    private OperatorSession(TokenGateSettings settings, ITokenGateStore store, AccountService accounts)
    {
        Settings = settings;
        Store = store;
        Accounts = accounts;
    }

    public TokenGateSettings Settings { get; }

    public ITokenGateStore Store { get; }

    public AccountService Accounts { get; }

    public static async Task<OperatorSession> OpenAsync(string? database, CancellationToken cancellationToken, IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var values = (overrides ?? []).ToList();
        if (database is not null)
        {
            values.Add(new(TokenGateKeys.Database, database));
        }

        var settings = TokenGateSettings.FromConfiguration(ReadConfiguration(values));
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

        var accounts = new AccountService(store, new IdentityPasswordHasher(settings.PasswordHashIterations), settings.PasswordPolicy, settings.TokenPolicy, TimeProvider.System);
        return new OperatorSession(settings, store, accounts);
    }

    /// <summary>appsettings.json in the working directory, then <c>TOKENGATE_*</c> variables, then command-line values.</summary>
    public static IConfiguration ReadConfiguration(IEnumerable<KeyValuePair<string, string?>> overrides) =>
        new ConfigurationBuilder()
            .SetBasePath(Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true)
            .AddTokenGateEnvironmentVariables()
            .AddInMemoryCollection(overrides)
            .Build();

    /// <summary>Records an operator's change in the audit trail (client <c>cli</c>).</summary>
    public ValueTask AuditAsync(string? account, string action, CancellationToken cancellationToken = default) =>
        Store.AppendAuditAsync([new AuditEntry(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds(), account, AuditActions.OperatorClient, action, AuditActions.Done)], cancellationToken);

    public ValueTask DisposeAsync() => Store.DisposeAsync();
}

/// <summary>The configuration keys that command-line options set.</summary>
internal static class TokenGateKeys
{
    public const string Urls = TokenGateConfiguration.SectionName + ":Urls";
    public const string Database = TokenGateConfiguration.SectionName + ":Database";
    public const string KeyFile = TokenGateConfiguration.SectionName + ":KeyFile";
    public const string TokenLifetime = TokenGateConfiguration.SectionName + ":TokenLifetime";
    public const string ExpiredRetention = TokenGateConfiguration.SectionName + ":ExpiredRetention";
    public const string TrustedProxy = TokenGateConfiguration.SectionName + ":TrustedProxy";
    public const string RequirePostCredentials = TokenGateConfiguration.SectionName + ":RequirePostCredentials";
    public const string Certificate = TokenGateConfiguration.SectionName + ":Certificate";
    public const string CertificatePassword = TokenGateConfiguration.SectionName + ":CertificatePassword";
    public const string CertificateKey = TokenGateConfiguration.SectionName + ":CertificateKey";
    public const string AuditRetention = TokenGateConfiguration.SectionName + ":AuditRetention";
    public const string LogFormat = TokenGateConfiguration.SectionName + ":LogFormat";
    public const string RequestLog = TokenGateConfiguration.SectionName + ":RequestLog";
    public const string OtlpEndpoint = TokenGateConfiguration.SectionName + ":OtlpEndpoint";
}
