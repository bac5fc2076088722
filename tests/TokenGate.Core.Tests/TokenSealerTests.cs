using System.Text;
using TokenGate.Security;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.Core.Tests;

/// <summary>AES-GCM sealing of token values: round trip, binding to key and digest, tamper evidence, thread safety.</summary>
public sealed class TokenSealerTests : IDisposable
{
    private readonly AesGcmTokenSealer _sealer = new(SealingKey.Generate());

    public void Dispose() => _sealer.Dispose();

    private static (string Token, byte[] Digest) NewToken()
    {
        var token = TokenValues.Untagged();
        return (token, TokenValue.ComputeDigest(token));
    }

    [Fact]
    public void A_sealed_token_unseals_to_itself()
    {
        var (token, digest) = NewToken();

        var sealedToken = _sealer.Seal(token, digest);

        Assert.True(_sealer.TryUnseal(sealedToken, digest, out var opened));
        Assert.Equal(token, opened);
    }

    [Fact]
    public void Sealing_the_same_token_twice_gives_different_bytes_that_both_unseal()
    {
        var (token, digest) = NewToken();

        var first = _sealer.Seal(token, digest);
        var second = _sealer.Seal(token, digest);

        Assert.NotEqual(first, second);
        Assert.True(_sealer.TryUnseal(first, digest, out var a));
        Assert.True(_sealer.TryUnseal(second, digest, out var b));
        Assert.Equal(token, a);
        Assert.Equal(token, b);
    }

    [Fact]
    public void A_token_sealed_under_another_key_does_not_unseal()
    {
        using var other = new AesGcmTokenSealer(SealingKey.Generate());
        var (token, digest) = NewToken();

        var sealedToken = other.Seal(token, digest);

        Assert.False(_sealer.TryUnseal(sealedToken, digest, out var opened));
        Assert.Null(opened);
    }

    [Fact]
    public void A_token_sealed_under_another_key_with_the_same_fingerprint_bytes_does_not_unseal()
    {
        // Rewrite the key id so that only AES-GCM's tag can tell the keys apart.
        using var other = new AesGcmTokenSealer(SealingKey.Generate());
        var (token, digest) = NewToken();
        var sealedToken = other.Seal(token, digest);
        var ours = _sealer.Seal(token, digest);
        ours.AsSpan(1, 4).CopyTo(sealedToken.AsSpan(1, 4));

        Assert.False(_sealer.TryUnseal(sealedToken, digest, out var opened));
        Assert.Null(opened);
    }

    [Fact]
    public void A_sealed_token_does_not_unseal_with_another_digest()
    {
        var (token, digest) = NewToken();
        var (_, otherDigest) = NewToken();
        var sealedToken = _sealer.Seal(token, digest);

        Assert.False(_sealer.TryUnseal(sealedToken, otherDigest, out var opened));
        Assert.Null(opened);
        Assert.False(_sealer.TryUnseal(sealedToken, [], out _));
    }

    [Fact]
    public void Flipping_any_single_byte_makes_the_sealed_token_fail_to_unseal()
    {
        var (token, digest) = NewToken();
        var sealedToken = _sealer.Seal(token, digest);

        for (var i = 0; i < sealedToken.Length; i++)
        {
            foreach (var mask in new byte[] { 0x01, 0x80, 0xff })
            {
                var altered = (byte[])sealedToken.Clone();
                altered[i] ^= mask;

                Assert.False(_sealer.TryUnseal(altered, digest, out var opened), $"byte {i} ^ 0x{mask:x2} still unsealed");
                Assert.Null(opened);
            }
        }
    }

    [Fact]
    public void A_truncated_or_extended_sealed_token_does_not_unseal()
    {
        var (token, digest) = NewToken();
        var sealedToken = _sealer.Seal(token, digest);

        for (var length = 0; length < sealedToken.Length; length++)
        {
            Assert.False(_sealer.TryUnseal(sealedToken.AsSpan(0, length), digest, out _), $"a prefix of {length} bytes unsealed");
            Assert.False(_sealer.TryUnseal(sealedToken.AsSpan(sealedToken.Length - length), digest, out _), $"a suffix of {length} bytes unsealed");
        }

        Assert.False(_sealer.TryUnseal([.. sealedToken, 0], digest, out _));
    }

    [Fact]
    public void The_sealed_bytes_contain_neither_the_tokens_raw_bytes_nor_its_text()
    {
        for (var i = 0; i < 200; i++)
        {
            var (token, digest) = NewToken();

            var sealedToken = _sealer.Seal(token, digest);

            Assert.True(sealedToken.AsSpan().IndexOf(Convert.FromHexString(token)) < 0);
            Assert.True(sealedToken.AsSpan().IndexOf(Encoding.ASCII.GetBytes(token)) < 0);
            Assert.True(sealedToken.AsSpan().IndexOf(Convert.FromHexString(token).AsSpan(0, 8)) < 0);
        }
    }

    [Theory]
    [InlineData("13036EA7949B5F5BEA79CA1D4C76CC2D56E2D9E8")]
    [InlineData("not a token")]
    [InlineData("")]
    public void Sealing_a_malformed_token_throws(string token)
    {
        Assert.Throws<ArgumentException>(() => _sealer.Seal(token, new byte[TokenValue.DigestLength]));
    }

    [Fact]
    public void The_sealer_is_safe_to_use_from_many_threads_at_once()
    {
        const int Threads = 16;
        const int Iterations = 2_000;
        var shared = new (string Token, byte[] Digest, byte[] Sealed)[Threads];
        for (var i = 0; i < Threads; i++)
        {
            var (token, digest) = NewToken();
            shared[i] = (token, digest, _sealer.Seal(token, digest));
        }

        var roundTrips = 0;
        var failures = 0;
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                for (var i = 0; i < Iterations; i++)
                {
                    var (token, digest) = NewToken();
                    var sealedToken = _sealer.Seal(token, digest);
                    var own = _sealer.TryUnseal(sealedToken, digest, out var opened) && opened == token;

                    // Also open a value sealed on another thread, and try one that must fail.
                    var (otherToken, otherDigest, otherSealed) = shared[(t + i) % Threads];
                    var other = _sealer.TryUnseal(otherSealed, otherDigest, out var otherOpened) && otherOpened == otherToken;
                    var wrong = _sealer.TryUnseal(sealedToken, otherDigest, out _);

                    if (own && other && !wrong)
                    {
                        Interlocked.Increment(ref roundTrips);
                    }
                    else
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
        })
        {
            // A sealer broken by concurrent use may hang in native code; that must fail the test, not the test run.
            IsBackground = true,
        }).ToList();

        threads.ForEach(thread => thread.Start());
        var deadline = TimeProvider.System.GetTimestamp();
        Assert.All(threads, thread => Assert.True(
            thread.Join(TimeSpan.FromSeconds(60) - TimeProvider.System.GetElapsedTime(deadline)),
            "a sealing thread did not finish"));

        Assert.Empty(errors);
        Assert.Equal(0, failures);
        Assert.Equal(Threads * Iterations, roundTrips);
    }

    [Fact]
    public void Two_sealers_with_the_same_key_open_each_others_values()
    {
        var key = SealingKey.Generate();
        using var first = new AesGcmTokenSealer(key);
        using var second = new AesGcmTokenSealer(SealingKey.FromBase64(Convert.ToBase64String(key.Bytes)));
        var (token, digest) = NewToken();

        Assert.True(second.TryUnseal(first.Seal(token, digest), digest, out var opened));
        Assert.Equal(token, opened);
    }
}
