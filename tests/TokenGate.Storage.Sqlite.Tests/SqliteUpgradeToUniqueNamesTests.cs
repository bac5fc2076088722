using TokenGate.Accounts;
using TokenGate.Server.Security;
using TokenGate.Testing;

namespace TokenGate.Storage.Sqlite.Tests;

/// <summary>
/// A server started on a file written at schema 9 that holds look-alike names (<c>alice</c> and <c>Alice</c>): migration 10 keeps
/// both working by their exact names and reports them at start; a third spelling can no longer be added (issue 25, item 7).
/// </summary>
public sealed class SqliteUpgradeToUniqueNamesTests : IDisposable
{
    private readonly TempDirectory _directory = new("tokengate-upgrade-names");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_version_9_file_with_clashing_names_is_migrated_without_changing_them_and_the_clash_is_reported()
    {
        using (var connection = SqliteFiles.Open(Path.Combine(_directory.Path, "tokengate.db")))
        {
            SqliteSchema.Migrate(connection, targetVersion: 9);
            var hasher = new IdentityPasswordHasher(TokenGateTestServer.FastHashIterations);
            foreach (var name in new[] { "alice", "Alice", "bob" })
            {
                SqliteFiles.Execute(
                    connection,
                    "INSERT INTO accounts (name, password_hash, created_at) VALUES ($name, $hash, 0)",
                    ("$name", name),
                    ("$hash", hasher.Hash("password of " + name)));
            }
        }

        SqliteFiles.MakePrivate(_directory.Path);
        await using var server = await TokenGateTestServer.StartAsync(directory: _directory.Path);
        using var http = server.CreateClient();
        var api = new TokenApiClient(http);

        Assert.Equal(SqliteSchema.LatestVersion, SqliteFiles.UserVersion(server.DatabasePath));
        var warning = Assert.Single(server.Logs.Lines, line => line.Contains("differ only in case", StringComparison.Ordinal));
        Assert.Contains("Alice, alice.", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("bob", warning, StringComparison.Ordinal);

        // Both keep working, each by its exact name only.
        Assert.True((await api.GetTokenAsync("alice", "password of alice")).Success);
        Assert.True((await api.GetTokenAsync("Alice", "password of Alice")).Success);
        Assert.Equal("Authentication failure", (await api.GetTokenAsync("ALICE", "password of alice")).Error);
        Assert.Equal("Authentication failure", (await api.GetTokenAsync("Alice", "password of alice")).Error);

        var refused = await server.Accounts.CreateAsync("ALICE", "a new password for ALICE", CancellationToken.None);
        Assert.Equal(AccountChangeStatus.Duplicate, refused.Status);
        Assert.Contains(refused.ExistingName, new[] { "alice", "Alice" });
        Assert.Equal(AccountChangeStatus.Duplicate, (await server.Accounts.CreateAsync("BOB", "a new password for BOB", CancellationToken.None)).Status);
        Assert.Equal([["Alice", "alice"]], (await server.Accounts.NameClashesAsync(CancellationToken.None)).Select(group => group.ToArray()).ToArray());
    }
}
