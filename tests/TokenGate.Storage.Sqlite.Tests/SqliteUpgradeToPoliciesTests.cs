using TokenGate.Accounts;
using TokenGate.Security;
using TokenGate.Server.Security;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.Storage.Sqlite.Tests;

/// <summary>
/// A server started on a file written at schema 8 (before per-account policies): migration 9 adds the policy columns, the
/// account and its token keep working under the server's settings, and a policy can then be set and is honoured.
/// </summary>
public sealed class SqliteUpgradeToPoliciesTests : IDisposable
{
    private const string Password = "version 8 password";

    private readonly TempDirectory _directory = new("tokengate-upgrade-policies");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_version_8_file_is_migrated_to_9_and_its_account_and_token_keep_working_then_take_a_policy()
    {
        var expiresAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3_600;
        var token = WriteVersion8File(expiresAt);

        SqliteFiles.MakePrivate(_directory.Path);
        await using var server = await TokenGateTestServer.StartAsync(directory: _directory.Path);
        using var http = server.CreateClient();
        var api = new TokenApiClient(http);

        Assert.Equal(SqliteSchema.LatestVersion, SqliteFiles.UserVersion(server.DatabasePath));
        var account = Assert.Single(await server.Accounts.ListAsync(CancellationToken.None));
        Assert.True(account.Policy.IsDefault);
        var validated = await api.ValidateAsync(token);
        Assert.True(validated.Success);
        Assert.Equal(expiresAt, validated.Expire);
        Assert.Equal(token, (await api.GetTokenAsync("old", Password)).Token);

        AllowedNetworks.TryParse("10.0.0.0/8", out var networks);
        var change = new AccountPolicyChange(PolicyPart<AllowedNetworks>.Set(networks!), PolicyPart<TimeSpan>.Set(TimeSpan.FromMinutes(30)));
        Assert.Equal(AccountChangeStatus.Done, (await server.Accounts.SetPolicyAsync("old", change, CancellationToken.None)).Status);
        Assert.Equal("Invalid token", (await api.ValidateAsync(token)).Error);
        Assert.Equal("Authentication failure", (await api.GetTokenAsync("old", Password)).Error);
        Assert.Equal("10.0.0.0/8", (await server.Accounts.ShowAsync("old", CancellationToken.None))!.Policy.AllowedNetworks!.Text);
    }

    /// <summary>The file the previous build left: schema 8, an account and one tagged token sealed under the key beside it.</summary>
    private string WriteVersion8File(long expiresAt)
    {
        var key = SealingKey.LoadOrCreate(Path.Combine(_directory.Path, "tokengate.key"));
        using var sealer = new AesGcmTokenSealer(key);
        var token = TokenValue.Generate(new TokenTagger(key));
        var digest = TokenValue.ComputeDigest(token);
        using var connection = SqliteFiles.Open(Path.Combine(_directory.Path, "tokengate.db"));
        SqliteSchema.Migrate(connection, targetVersion: 8);
        SqliteFiles.Execute(
            connection,
            "INSERT INTO accounts (name, password_hash, created_at) VALUES ('old', $hash, 0)",
            ("$hash", new IdentityPasswordHasher(TokenGateTestServer.FastHashIterations).Hash(Password)));
        SqliteFiles.Execute(
            connection,
            "INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at) VALUES ($digest, 1, '127.0.0.1', $sealed, $issued, $expires)",
            ("$digest", digest),
            ("$sealed", sealer.Seal(token, digest)),
            ("$issued", expiresAt - 43_200),
            ("$expires", expiresAt));
        return token;
    }
}
