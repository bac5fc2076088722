using TokenGate.Caching;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.Core.Tests;

/// <summary>The comparer of the token cache, whose keys are token values.</summary>
public sealed class SecretKeyComparerTests
{
    [Fact]
    public void Equal_tokens_are_equal_with_one_hash_and_tokens_differing_anywhere_are_not()
    {
        var comparer = SecretKeyComparer.Instance;
        var token = TokenValues.Untagged();
        var copy = new string(token.AsSpan());

        Assert.True(comparer.Equals(token, copy));
        Assert.Equal(comparer.GetHashCode(token), comparer.GetHashCode(copy));
        for (var i = 0; i < token.Length; i++)
        {
            var changed = token.ToCharArray();
            changed[i] = changed[i] == 'a' ? 'b' : 'a';
            Assert.False(comparer.Equals(token, new string(changed)), $"a difference at {i} went unseen");
        }

        Assert.False(comparer.Equals(token, token[..39]));
        Assert.False(comparer.Equals(token, null));
        Assert.False(comparer.Equals(null, null));
    }

    [Fact]
    public void The_token_cache_finds_a_token_by_an_equal_string_and_misses_a_near_one()
    {
        var caches = new TokenCaches(new TokenCacheOptions());
        var token = TokenValues.Untagged();
        var found = new CachedToken(new Storage.StoredToken(TokenValue.ComputeDigest(token), 1, "alice", true, "127.0.0.1", 1_900_000_000, 2_000_000_000), AddressSet.Single(System.Net.IPAddress.Loopback));

        caches.SetToken(token, 7, found);

        Assert.True(caches.TryGetToken(new string(token.AsSpan()), 7, out var hit));
        Assert.Same(found, hit);
        Assert.False(caches.TryGetToken(token[..39] + (token[39] == '0' ? '1' : '0'), 7, out _));
    }
}
