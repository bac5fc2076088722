using TokenGate.Security;
using TokenGate.Tokens;
using Xunit;

namespace TokenGate.Storage.Conformance;

/// <summary>
/// The key ring (issue 18) asks the store which sealing keys its live tokens depend on (<see cref="ISealingKeyUsage"/>): counted
/// by the fingerprint each sealed value carries, tokens expired at or before the cut-off left out.
/// </summary>
public abstract partial class TokenGateStoreSpecification
{
    [Fact(Timeout = TestTimeout)]
    public async Task The_live_tokens_are_counted_by_the_sealing_key_that_sealed_them()
    {
        await using var store = await CreateStoreAsync();
        if (store is not ISealingKeyUsage usage)
        {
            return;
        }

        var ring = SealingKeyRing.OfOne(SealingKey.Generate()).WithNewKey(DateTimeOffset.FromUnixTimeSeconds(Now));
        var loaded = new LoadedKeyRing(ring);
        var (tagger, sealer) = (new TokenTagger(loaded), new AesGcmTokenSealer(loaded));
        var account = await NewAccountAsync(store, "sealed-by");
        Assert.Empty(await usage.CountTokensBySealingKeyAsync(Now, Cancel));

        async Task AddAsync(long expiresAt)
        {
            var token = TokenValue.Generate(tagger);
            var digest = TokenValue.ComputeDigest(token);
            var current = await store.FindAccountAsync(account.Name, Cancel);
            var request = new TokenIssueRequest(current!.Id, current.CredentialStamp, $"10.1.{expiresAt % 250}.1", digest, sealer.Seal(token, digest), Math.Min(Now, expiresAt - 50), expiresAt, NoLimit, AlwaysAdd: true);
            Assert.Equal(TokenIssueStatus.Added, (await store.GetOrAddTokenAsync(request, Cancel)).Status);
        }

        await AddAsync(Now + 100);
        await AddAsync(Now + 200);
        await AddAsync(Now - 10);
        loaded.Replace(ring.WithActive(ring.Keys[1]));
        await AddAsync(Now + 300);

        var counts = await usage.CountTokensBySealingKeyAsync(Now - 20, Cancel);
        Assert.Equal(new Dictionary<string, long> { [ring.Keys[0].Fingerprint] = 3, [ring.Keys[1].Fingerprint] = 1 }, counts);
        counts = await usage.CountTokensBySealingKeyAsync(Now, Cancel);
        Assert.Equal(new Dictionary<string, long> { [ring.Keys[0].Fingerprint] = 2, [ring.Keys[1].Fingerprint] = 1 }, counts);
        Assert.Equal(new Dictionary<string, long> { [ring.Keys[1].Fingerprint] = 1 }, await usage.CountTokensBySealingKeyAsync(Now + 200, Cancel));
    }
}
