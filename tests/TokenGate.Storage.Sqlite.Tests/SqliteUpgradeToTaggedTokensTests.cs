using TokenGate.Security;
using TokenGate.Server.Security;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.Storage.Sqlite.Tests;

/// <summary>
/// A server started on a file written at the schema before tags (version 7): the tokens issued then keep working over HTTP
/// through the legacy fallback until their expiry plus retention, and the purge then clears the marker.
/// </summary>
public sealed class SqliteUpgradeToTaggedTokensTests : IDisposable
{
    private const string Password = "legacy password";
    private const long Lifetime = 43_200;
    private static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    private readonly TempDirectory _directory = new("tokengate-upgrade");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Tokens_of_the_previous_schema_validate_through_the_fallback_until_expiry_plus_retention_then_the_marker_is_cleared()
    {
        var time = new ManualTimeProvider();
        var untagged = TokenValues.Untagged();
        var expiresAt = time.UnixNow + Lifetime;
        WriteVersion7File(untagged, expiresAt);

        await using (var server = await TokenGateTestServer.StartAsync(time: time, directory: _directory.Path))
        {
            using var http = server.CreateClient();
            var api = new TokenApiClient(http);

            Assert.Equal(SqliteSchema.LatestVersion, SqliteFiles.UserVersion(server.DatabasePath));
            Assert.Equal(expiresAt, Marker(server.DatabasePath));
            Assert.True((await api.ValidateAsync(untagged)).Success);
            Assert.Equal(untagged, (await api.GetTokenAsync("legacy", Password)).Token);
            var unknown = await api.ValidateAsync(TokenValues.Untagged());
            Assert.Equal((false, "Invalid token"), (unknown.Success, unknown.Error));

            await server.CreateAccountAsync("fresh", Password);
            var tagged = (await api.GetTokenAsync("fresh", Password)).Token!;
            Assert.True(new TokenTagger(SealingKey.Load(Path.Combine(_directory.Path, "tokengate.key"))).Verify(tagged));

            time.SetUnixNow(expiresAt + (long)Retention.TotalSeconds - 1);
            Assert.Equal("Expired token", (await api.ValidateAsync(untagged)).Error);
            await server.Accounts.PurgeExpiredTokensAsync(includeRetained: false, batchSize: 100, TimeSpan.Zero, CancellationToken.None);
            Assert.Equal(expiresAt, Marker(server.DatabasePath));

            time.SetUnixNow(expiresAt + (long)Retention.TotalSeconds);
            Assert.Equal("Invalid token", (await api.ValidateAsync(untagged)).Error);
            await server.Accounts.PurgeExpiredTokensAsync(includeRetained: false, batchSize: 100, TimeSpan.Zero, CancellationToken.None);
            Assert.Null(Marker(server.DatabasePath));
        }

        // A restart reads no marker: the fallback is off from the start.
        await using var restarted = await TokenGateTestServer.StartAsync(time: time, directory: _directory.Path);
        Assert.Null(Marker(restarted.DatabasePath));
    }

    /// <summary>The file an older build left: schema 7, an account and one token sealed under the key beside it, bound to 127.0.0.1.</summary>
    private void WriteVersion7File(string token, long expiresAt)
    {
        var key = SealingKey.LoadOrCreate(Path.Combine(_directory.Path, "tokengate.key"));
        using var sealer = new AesGcmTokenSealer(key);
        var digest = TokenValue.ComputeDigest(token);
        using var connection = SqliteFiles.Open(Path.Combine(_directory.Path, "tokengate.db"));
        SqliteSchema.Migrate(connection, targetVersion: SqliteSchema.TaggedTokensVersion - 1);
        SqliteFiles.Execute(
            connection,
            "INSERT INTO accounts (name, password_hash, created_at) VALUES ('legacy', $hash, 0)",
            ("$hash", new IdentityPasswordHasher(TokenGateTestServer.FastHashIterations).Hash(Password)));
        SqliteFiles.Execute(
            connection,
            "INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at) VALUES ($digest, 1, '127.0.0.1', $sealed, $issued, $expires)",
            ("$digest", digest),
            ("$sealed", sealer.Seal(token, digest)),
            ("$issued", expiresAt - Lifetime),
            ("$expires", expiresAt));

        SqliteFiles.MakePrivate(_directory.Path);
    }

    private static long? Marker(string path)
    {
        using var connection = SqliteFiles.Open(path);
        return SqliteFiles.Scalar(connection, "SELECT legacy_tokens_expire_at FROM meta") as long?;
    }
}
