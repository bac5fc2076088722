using TokenGate.Security;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.Core.Tests;

/// <summary>The token tag: what verifies, and that any changed bit, another key or an untagged token does not.</summary>
public sealed class TokenTaggerTests
{
    private static readonly SealingKey Key = SealingKey.Generate();
    private readonly TokenTagger _tagger = new(Key);

    [Fact]
    public void A_generated_token_is_well_formed_names_key_1_and_verifies_under_the_same_key_only()
    {
        var token = TokenValue.Generate(_tagger);

        Assert.True(TokenValue.IsWellFormed(token));
        Assert.StartsWith("01", token, StringComparison.Ordinal);
        Assert.True(_tagger.Verify(token));
        Assert.True(new TokenTagger(SealingKey.FromBase64(Convert.ToBase64String(Key.Bytes))).Verify(token));
        Assert.False(new TokenTagger(SealingKey.Generate()).Verify(token));
    }

    [Fact]
    public void Flipping_any_one_bit_of_a_token_makes_it_fail()
    {
        var token = TokenValue.Generate(_tagger);
        var bytes = Convert.FromHexString(token);

        for (var bit = 0; bit < bytes.Length * 8; bit++)
        {
            var changed = (byte[])bytes.Clone();
            changed[bit / 8] ^= (byte)(1 << (bit % 8));

            Assert.False(_tagger.Verify(Convert.ToHexStringLower(changed)), $"bit {bit}");
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("01")]
    [InlineData("0123456789ABCDEF0123456789abcdef01234567")]
    public void A_malformed_token_fails(string token)
    {
        Assert.False(_tagger.Verify(token));
    }

    [Fact]
    public void Untagged_tokens_fail_but_for_odds_of_2_to_the_minus_32()
    {
        Assert.DoesNotContain(Enumerable.Range(0, 10_000).Select(_ => TokenValues.Untagged()), token => _tagger.Verify(token));
        Assert.False(_tagger.Verify(TokenValues.WithFlippedTagBit(TokenValue.Generate(_tagger))));
    }
}
