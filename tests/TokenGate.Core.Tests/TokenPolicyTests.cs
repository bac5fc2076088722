using System.Net;
using TokenGate.Accounts;
using TokenGate.Core.Tests.Fakes;
using TokenGate.Security;
using TokenGate.Storage;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.Core.Tests;

/// <summary><see cref="TokenValidator.Judge"/>: the bound address, then expiry, then the retention window, on a hand-moved clock.</summary>
public sealed class TokenPolicyTests : IDisposable
{
    private static readonly IPAddress Bound = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress Unbound = IPAddress.Parse("10.0.0.2");

    private readonly ManualTimeProvider _time = new();
    private static readonly SealingKey Key = SealingKey.Generate();
    private static readonly TokenTagger Tagger = new(Key);
    private readonly AesGcmTokenSealer _sealer = new(Key);
    private readonly TokenPolicyOptions _options = new() { Lifetime = TimeSpan.FromHours(12), ExpiredRetention = TimeSpan.FromDays(7) };
    private readonly TokenService _service;
    private readonly string _token = TokenValue.Generate(Tagger);
    private readonly long _expire;

    public TokenPolicyTests()
    {
        _service = new TokenService(new InMemoryTokenGateStore(), new CountingPasswordHasher(), _sealer, Tagger, _options, PasswordPolicy.Default, _time);
        _expire = _time.UnixNow + 43_200;
    }

    public void Dispose() => _sealer.Dispose();

    private long Retention => (long)_options.ExpiredRetention.TotalSeconds;

    private StoredToken Stored(bool enabled = true, string addressKey = "10.0.0.1") =>
        new(TokenValue.ComputeDigest(_token), AccountId: 1, "alice", enabled, addressKey, IssuedAt: _expire - 43_200, _expire);

    private TokenStatus JudgeAt(long now, StoredToken? stored = null, IPAddress? caller = null, byte[]? digest = null)
    {
        _time.SetUnixNow(now);
        return _service.Validator.Judge(stored ?? Stored(), digest ?? TokenValue.ComputeDigest(_token), caller ?? Bound).Status;
    }

    [Fact]
    public void A_token_is_valid_until_the_second_before_it_expires()
    {
        Assert.Equal(TokenStatus.Valid, JudgeAt(_expire - 43_200));
        Assert.Equal(TokenStatus.Valid, JudgeAt(_expire - 1));
    }

    [Fact]
    public void A_valid_verdict_carries_the_stored_token()
    {
        var stored = Stored();
        _time.SetUnixNow(_expire - 1);

        var verdict = _service.Validator.Judge(stored, stored.Digest, Bound);

        Assert.Equal(TokenStatus.Valid, verdict.Status);
        Assert.Same(stored, verdict.Token);
    }

    [Fact]
    public void A_token_is_expired_at_exactly_its_expiry()
    {
        Assert.Equal(TokenStatus.Expired, JudgeAt(_expire));
    }

    [Fact]
    public void An_expired_token_answers_expired_until_the_last_second_of_the_retention_window()
    {
        Assert.Equal(TokenStatus.Expired, JudgeAt(_expire + 1));
        Assert.Equal(TokenStatus.Expired, JudgeAt(_expire + Retention - 1));
    }

    [Fact]
    public void An_expired_token_answers_invalid_once_the_retention_window_is_over()
    {
        Assert.Equal(TokenStatus.Invalid, JudgeAt(_expire + Retention));
        Assert.Equal(TokenStatus.Invalid, JudgeAt(_expire + Retention + 86_400));
    }

    [Fact]
    public void An_expired_verdict_does_not_carry_the_token()
    {
        _time.SetUnixNow(_expire);

        Assert.Null(_service.Validator.Judge(Stored(), TokenValue.ComputeDigest(_token), Bound).Token);
    }

    [Fact]
    public void With_no_retention_a_token_is_invalid_as_soon_as_it_expires()
    {
        var options = new TokenPolicyOptions { ExpiredRetention = TimeSpan.Zero };
        var service = new TokenService(new InMemoryTokenGateStore(), new CountingPasswordHasher(), _sealer, Tagger, options, PasswordPolicy.Default, _time);
        _time.SetUnixNow(_expire - 1);
        Assert.Equal(TokenStatus.Valid, service.Validator.Judge(Stored(), TokenValue.ComputeDigest(_token), Bound).Status);

        _time.SetUnixNow(_expire);
        Assert.Equal(TokenStatus.Invalid, service.Validator.Judge(Stored(), TokenValue.ComputeDigest(_token), Bound).Status);
    }

    [Theory]
    [InlineData(-43_200)]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7 * 86_400 - 1)]
    public void A_caller_from_an_unbound_address_gets_invalid_whether_the_token_is_valid_or_expired(long offset)
    {
        Assert.Equal(TokenStatus.Invalid, JudgeAt(_expire + offset, caller: Unbound));
        Assert.Equal(TokenStatus.Invalid, JudgeAt(_expire + offset, caller: IPAddress.Parse("::ffff:10.0.0.2")));
        Assert.Equal(TokenStatus.Invalid, JudgeAt(_expire + offset, caller: IPAddress.IPv6Loopback));
    }

    [Fact]
    public void A_caller_from_the_ipv4_mapped_form_of_a_bound_address_is_bound()
    {
        Assert.Equal(TokenStatus.Valid, JudgeAt(_expire - 1, caller: IPAddress.Parse("::ffff:10.0.0.1")));
    }

    [Fact]
    public void A_caller_from_any_address_of_a_bound_list_is_bound()
    {
        var stored = Stored(addressKey: "10.0.0.1,192.168.1.1,2001:db8::1");

        Assert.Equal(TokenStatus.Valid, JudgeAt(_expire - 1, stored, IPAddress.Parse("192.168.1.1")));
        Assert.Equal(TokenStatus.Valid, JudgeAt(_expire - 1, stored, IPAddress.Parse("2001:db8::1")));
        Assert.Equal(TokenStatus.Invalid, JudgeAt(_expire - 1, stored, IPAddress.Parse("192.168.1.2")));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1)]
    public void A_token_of_a_disabled_account_is_invalid(long offset)
    {
        Assert.Equal(TokenStatus.Invalid, JudgeAt(_expire + offset, Stored(enabled: false)));
    }

    [Fact]
    public void A_stored_token_whose_digest_differs_from_the_given_one_is_invalid()
    {
        var other = TokenValue.ComputeDigest(TokenValues.Untagged());
        var truncated = TokenValue.ComputeDigest(_token)[..16];

        Assert.Equal(TokenStatus.Invalid, JudgeAt(_expire - 1, digest: other));
        Assert.Equal(TokenStatus.Invalid, JudgeAt(_expire, digest: other));
        Assert.Equal(TokenStatus.Invalid, JudgeAt(_expire - 1, digest: truncated));
        Assert.Equal(TokenStatus.Invalid, JudgeAt(_expire - 1, digest: []));
    }

    [Fact]
    public void No_stored_token_is_invalid()
    {
        _time.SetUnixNow(_expire - 1);

        Assert.Equal(TokenStatus.Invalid, _service.Validator.Judge(null, TokenValue.ComputeDigest(_token), Bound).Status);
    }

    [Fact]
    public void Options_out_of_range_are_refused_when_the_service_is_made()
    {
        TokenService Make(TokenPolicyOptions options) =>
            new(new InMemoryTokenGateStore(), new CountingPasswordHasher(), _sealer, Tagger, options, PasswordPolicy.Default, _time);

        Assert.Throws<ArgumentOutOfRangeException>(() => Make(new TokenPolicyOptions { Lifetime = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Make(new TokenPolicyOptions { ExpiredRetention = TimeSpan.FromSeconds(-1) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Make(new TokenPolicyOptions { MaxActiveTokensPerAccount = 0 }));
    }
}
