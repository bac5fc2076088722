using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Storage;
using TokenGate.Storage.Sqlite;
using TokenGate.Testing;

namespace TokenGate.AspNetCore.Tests;

/// <summary>
/// Local mode with the server's key (<see cref="TokenGateOptions.KeyFile"/>): a forged token (right length, wrong tag) is refused
/// 401 without reaching the store; without a key every well-formed token is still looked up, as before tags.
/// </summary>
public sealed class ForgedTokenTests(LocalModeFixture fixture) : IClassFixture<LocalModeFixture>
{
    [Fact]
    public async Task With_the_servers_key_file_a_forged_token_is_refused_without_reaching_the_store()
    {
        var (account, token, _) = await fixture.NewTokenAsync();
        var store = new CountingLookupStore(new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = fixture.Server.DatabasePath }));
        await using var api = await ApiApp.StartAsync(
            options => options.KeyFile = Path.Combine(fixture.Server.Directory, "tokengate.key"),
            fixture.Time,
            services: builder => builder.Services.AddSingleton<ITokenLookupStore>(store));
        using var http = api.CreateClient();

        var real = await http.WhoAmIAsync(token);
        var lookups = store.Lookups;
        var flipped = await http.WhoAmIAsync(TokenValues.WithFlippedTagBit(token));
        var untagged = await http.WhoAmIAsync(TokenValues.Untagged());

        Assert.Equal((HttpStatusCode.OK, account), (real.Status, real.Name));
        Assert.Equal(1, lookups);
        Assert.Equal(HttpStatusCode.Unauthorized, flipped.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, untagged.Status);
        Assert.Equal(lookups, store.Lookups);
    }

    [Fact]
    public async Task Without_a_key_a_forged_token_is_refused_after_the_store_lookup_as_before_tags()
    {
        var (_, token, _) = await fixture.NewTokenAsync();
        var store = new CountingLookupStore(new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = fixture.Server.DatabasePath }));
        await using var api = await ApiApp.StartAsync(time: fixture.Time, services: builder => builder.Services.AddSingleton<ITokenLookupStore>(store));
        using var http = api.CreateClient();

        var flipped = await http.WhoAmIAsync(TokenValues.WithFlippedTagBit(token));

        Assert.Equal(HttpStatusCode.Unauthorized, flipped.Status);
        Assert.Equal(1, store.Lookups);
    }

    [Fact]
    public async Task A_key_file_that_does_not_exist_stops_the_host_at_start()
    {
        var missing = Path.Combine(fixture.Server.Directory, "no-such.key");

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => fixture.StartApiAsync(options => options.KeyFile = missing));

        Assert.Contains("KeyFile", failure.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(missing));
    }

    /// <summary>A real lookup store that counts the lookups that reach it.</summary>
    internal sealed class CountingLookupStore(ITokenLookupStore inner) : ITokenLookupStore, IAsyncDisposable
    {
        private int _lookups;

        public int Lookups => Volatile.Read(ref _lookups);

        public ValueTask<StoredToken?> FindTokenAsync(ReadOnlyMemory<byte> digest, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _lookups);
            return inner.FindTokenAsync(digest, cancellationToken);
        }

        public long? ObserveRevocationEpoch() => inner.ObserveRevocationEpoch();

        public ValueTask DisposeAsync() => inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;
    }
}
