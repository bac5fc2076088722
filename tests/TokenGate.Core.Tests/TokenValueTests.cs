using System.Security.Cryptography;
using System.Text;
using TokenGate.Security;
using TokenGate.Tokens;

namespace TokenGate.Core.Tests;

/// <summary>Token values, their digests and their non-secret ids.</summary>
public sealed class TokenValueTests
{
    private const string Sample = "13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e8";
    private static readonly TokenTagger Tagger = new(SealingKey.Generate());

    [Fact]
    public void Generate_gives_40_lower_case_hex_characters()
    {
        for (var i = 0; i < 200; i++)
        {
            var token = TokenValue.Generate(Tagger);

            Assert.Matches("^[0-9a-f]{40}$", token);
            Assert.True(TokenValue.IsWellFormed(token));
        }
    }

    [Fact]
    public void Generate_on_many_threads_across_many_random_blocks_never_repeats_a_token_and_uses_every_hex_digit_evenly()
    {
        // 8 threads × 5,000 tokens: each thread's 4 KB block of random bytes is refilled about 25 times.
        var tokens = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                tokens.Add(TokenValue.Generate(Tagger));
            }
        });

        Assert.Equal(40_000, tokens.Distinct(StringComparer.Ordinal).Count());

        // 1.52 million hex digits after the key ids: each of the 16 is expected 95,000 times; a block handed out twice, or a
        // wiped (zero) byte handed out, would skew the counts far beyond this 2% tolerance (about 6 standard deviations).
        var counts = tokens.SelectMany(t => t[2..]).GroupBy(c => c).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(16, counts.Count);
        Assert.All(counts.Values, n => Assert.InRange(n, 93_100, 96_900));
    }

    [Fact]
    public void Generate_gives_a_different_token_each_call()
    {
        var tokens = Enumerable.Range(0, 10_000).Select(_ => TokenValue.Generate(Tagger)).ToList();

        Assert.Equal(tokens.Count, tokens.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Generate_uses_every_hex_digit_in_every_position_after_the_key_id()
    {
        // After the key id (the first byte, the same in every token), 120 random bits and a tag: over many tokens, each of the
        // 38 other positions takes all 16 values.
        var seen = new HashSet<char>[TokenValue.Length];
        for (var i = 0; i < seen.Length; i++)
        {
            seen[i] = [];
        }

        for (var n = 0; n < 2_000; n++)
        {
            var token = TokenValue.Generate(Tagger);
            for (var i = 0; i < token.Length; i++)
            {
                seen[i].Add(token[i]);
            }
        }

        Assert.All(seen[2..], position => Assert.Equal(16, position.Count));
        Assert.Equal("01", string.Concat(seen[0].Single(), seen[1].Single()));
    }

    [Theory]
    [InlineData(Sample)]
    [InlineData("0000000000000000000000000000000000000000")]
    [InlineData("ffffffffffffffffffffffffffffffffffffffff")]
    public void IsWellFormed_accepts_40_lower_case_hex_characters(string token)
    {
        Assert.True(TokenValue.IsWellFormed(token));
    }

    [Theory]
    [InlineData("13036EA7949B5F5BEA79CA1D4C76CC2D56E2D9E8")]
    [InlineData("13036ea7949b5f5bea79ca1d4c76cc2d56e2d9eA")]
    [InlineData("13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e")]
    [InlineData("13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e80")]
    [InlineData("")]
    [InlineData("13036ea7949b5f5bea79ca1d4c76cc2d56e2d9eg")]
    [InlineData("13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e ")]
    [InlineData(" 13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e")]
    [InlineData("13036ea7949b5f5bea79ca1d4c76cc2d56e2d9-8")]
    [InlineData("13036ea7949b5f5bea79ca1d4c76cc2d56e2d9\u0660\u0661")]
    [InlineData("13036ea7949b5f5bea79ca1d4c76cc2d56e2d9\uff41\uff42")]
    public void IsWellFormed_rejects_upper_case_wrong_length_and_non_hex(string token)
    {
        Assert.False(TokenValue.IsWellFormed(token));
    }

    [Fact]
    public void The_digest_is_the_sha256_of_the_tokens_ascii_characters()
    {
        var token = TokenValue.Generate(Tagger);

        var digest = TokenValue.ComputeDigest(token);

        Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes(token)), digest);
        Assert.Equal(TokenValue.DigestLength, digest.Length);
    }

    [Fact]
    public void The_digest_of_a_known_token_is_its_known_sha256()
    {
        // printf '13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e8' | sha256sum
        Assert.Equal(
            Convert.FromHexString("df59abe46e6177dcd5cd230e2b6ce8c5192d52d78f943cce25a759971d799f01"),
            TokenValue.ComputeDigest(Sample));
        Assert.Equal("df59abe46e6177dc", TokenValue.IdOf(TokenValue.ComputeDigest(Sample)));
    }

    [Fact]
    public void The_span_overload_writes_the_same_digest()
    {
        var token = TokenValue.Generate(Tagger);
        Span<byte> digest = stackalloc byte[TokenValue.DigestLength];

        TokenValue.ComputeDigest(token, digest);

        Assert.Equal(TokenValue.ComputeDigest(token), digest.ToArray());
    }

    [Theory]
    [InlineData("13036EA7949B5F5BEA79CA1D4C76CC2D56E2D9E8")]
    [InlineData("short")]
    public void A_malformed_token_has_no_digest(string token)
    {
        Assert.Throws<ArgumentException>(() => TokenValue.ComputeDigest(token));
    }

    [Fact]
    public void IdOf_is_16_lower_case_hex_characters_of_the_first_8_bytes_of_the_digest()
    {
        var digest = TokenValue.ComputeDigest(TokenValue.Generate(Tagger));

        var id = TokenValue.IdOf(digest);

        Assert.Matches("^[0-9a-f]{16}$", id);
        Assert.Equal(digest[..8], Convert.FromHexString(id));
    }

    [Fact]
    public void IdOf_does_not_depend_on_bytes_after_the_eighth()
    {
        var digest = TokenValue.ComputeDigest(TokenValue.Generate(Tagger));
        var changed = (byte[])digest.Clone();
        changed[8] ^= 0xff;
        changed[^1] ^= 0xff;
        var changedFirst = (byte[])digest.Clone();
        changedFirst[7] ^= 0x01;

        Assert.Equal(TokenValue.IdOf(digest), TokenValue.IdOf(changed));
        Assert.NotEqual(TokenValue.IdOf(digest), TokenValue.IdOf(changedFirst));
    }
}
