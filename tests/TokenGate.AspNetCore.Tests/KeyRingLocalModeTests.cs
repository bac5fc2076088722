using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Security;
using TokenGate.Storage;
using TokenGate.Storage.Sqlite;
using TokenGate.Testing;

namespace TokenGate.AspNetCore.Tests;

/// <summary>
/// Local mode follows the server's key ring (issue 18): given a ring in which the key that tagged a token is only accepted, the
/// token is still accepted; given a ring in which that key is retired, it is refused without reaching the store.
/// </summary>
public sealed class KeyRingLocalModeTests(LocalModeFixture fixture) : IClassFixture<LocalModeFixture>
{
    [Fact]
    public async Task A_token_under_an_accepted_key_of_the_ring_is_accepted_and_one_under_a_retired_key_is_refused_before_the_store()
    {
        var (account, token, _) = await fixture.NewTokenAsync();
        using var directory = new TempDirectory("tokengate-ring-api");
        var ring = SealingKeyRing.Load(Path.Combine(fixture.Server.Directory, "tokengate.key")).WithNewKey(DateTimeOffset.UtcNow);
        ring = ring.WithActive(ring.Keys[1]);
        var rotated = directory.File("rotated.key");
        ring.Save(rotated);
        var retired = directory.File("retired.key");
        ring.WithRetired(ring.Keys[0]).Save(retired);

        var store = new ForgedTokenTests.CountingLookupStore(new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = fixture.Server.DatabasePath }));
        await using (var api = await ApiApp.StartAsync(options => options.KeyFile = rotated, fixture.Time, services: builder => builder.Services.AddSingleton<ITokenLookupStore>(store)))
        {
            using var http = api.CreateClient();
            var accepted = await http.WhoAmIAsync(token);
            Assert.Equal((HttpStatusCode.OK, account), (accepted.Status, accepted.Name));
        }

        var lookups = store.Lookups;
        await using (var api = await ApiApp.StartAsync(options => options.KeyFile = retired, fixture.Time, services: builder => builder.Services.AddSingleton<ITokenLookupStore>(store)))
        {
            using var http = api.CreateClient();
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.WhoAmIAsync(token)).Status);
        }

        Assert.Equal(lookups, store.Lookups);
    }
}
