using System.Net;
using TokenGate.Accounts;
using TokenGate.Core.Tests.Fakes;
using TokenGate.Security;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.Core.Tests;

/// <summary>The <c>get</c>, <c>validate</c>, <c>delete</c> and <c>newpass</c> actions against an in-memory store.</summary>
public sealed class TokenServiceTests : IDisposable
{
    private const string Name = "alice";
    private const string Password = "correct-horse";
    private const long Lifetime = 43_200;

    private static readonly IPAddress Caller = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress Stranger = IPAddress.Parse("10.0.0.99");
    private static readonly AddressSet Here = AddressSet.Single(Caller);

    private readonly ManualTimeProvider _time = new();
    private readonly InMemoryTokenGateStore _store = new();
    private readonly CountingPasswordHasher _hasher = new();
    private readonly AesGcmTokenSealer _sealer = new(SealingKey.Generate());
    private readonly TokenTagger _tagger = new(SealingKey.Generate());
    private readonly TokenService _service;

    public TokenServiceTests()
    {
        _store.AddAccount(Name, CountingPasswordHasher.HashOf(Password));
        _service = Service();
    }

    public void Dispose() => _sealer.Dispose();

    private TokenService Service(ITokenSealer? sealer = null, TokenPolicyOptions? options = null) =>
        new(_store, _hasher, sealer ?? _sealer, _tagger, options ?? new TokenPolicyOptions(), PasswordPolicy.Default, _time);

    private static AddressSet Set(string list)
    {
        Assert.True(AddressSet.TryParse(list, out var set));
        return set!;
    }

    private async Task<IssueResult> IssueAsync(AddressSet? addresses = null, TokenService? service = null)
    {
        var result = await (service ?? _service).GetTokenAsync(Name, Password, addresses ?? Here, CancellationToken.None);
        Assert.Equal(IssueStatus.Issued, result.Status);
        return result;
    }

    private async Task<TokenStatus> ValidateAsync(string? token, IPAddress? caller = null) =>
        (await _service.Validator.ValidateAsync(token, caller ?? Caller, CancellationToken.None)).Status;

    // get: authentication

    [Fact]
    public async Task Get_with_the_right_password_issues_a_new_token_bound_to_the_addresses_for_the_lifetime()
    {
        var now = _time.UnixNow;

        var result = await _service.GetTokenAsync(Name, Password, Set("10.0.0.1, 10.0.0.2"), CancellationToken.None);

        Assert.Equal(IssueStatus.Issued, result.Status);
        Assert.True(result.IsNew);
        Assert.Equal(Name, result.AccountName);
        Assert.True(TokenValue.IsWellFormed(result.Token!));
        Assert.Equal(TokenValue.ComputeDigest(result.Token!), result.Digest);
        Assert.Equal(now + Lifetime, result.ExpiresAt);
        var stored = Assert.Single(_store.TokensOf(Name));
        Assert.Equal(result.Digest, stored.Digest);
        Assert.Equal("10.0.0.1,10.0.0.2", stored.AddressKey);
        Assert.Equal(now, stored.IssuedAt);
        Assert.Equal(1, _hasher.VerifyCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Get_reads_the_current_token_first_only_where_the_store_says_it_pays_and_hands_it_back_either_way(bool readsFirst)
    {
        _store.ReadsBeforeIssuing = readsFirst;
        var first = await IssueAsync();

        var again = await IssueAsync(service: Service());   // nothing remembered: the store is asked

        Assert.False(again.IsNew);
        Assert.Equal(first.Token, again.Token);
        Assert.Single(_store.TokensOf(Name));
        Assert.Equal(readsFirst ? 2 : 0, _store.CurrentTokenReads);
        Assert.Equal(readsFirst ? 1 : 2, _store.IssueRequests.Count);
    }

    [Fact]
    public async Task Get_issues_tokens_for_the_configured_lifetime()
    {
        var service = Service(options: new TokenPolicyOptions { Lifetime = TimeSpan.FromMinutes(5) });

        var result = await IssueAsync(service: service);

        Assert.Equal(_time.UnixNow + 300, result.ExpiresAt);
    }

    [Fact]
    public async Task The_issued_token_is_stored_only_sealed_and_by_digest()
    {
        var result = await IssueAsync();

        var request = Assert.Single(_store.IssueRequests);
        Assert.Equal(result.Digest, request.Digest);
        Assert.True(request.SealedToken.AsSpan().IndexOf(Convert.FromHexString(result.Token!)) < 0);
        Assert.True(_sealer.TryUnseal(request.SealedToken, request.Digest, out var opened));
        Assert.Equal(result.Token, opened);
        Assert.DoesNotContain(result.Token!, result.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_username_costs_exactly_one_verification_against_a_dummy_hash()
    {
        var result = await _service.GetTokenAsync("bob", Password, Here, CancellationToken.None);

        Assert.Equal(IssueStatus.AuthenticationFailure, result.Status);
        Assert.Null(result.AccountName);
        Assert.Null(result.Token);
        Assert.Equal(1, _hasher.VerifyCount);
        var dummy = Assert.Single(_hasher.MadeHashes);
        Assert.Equal(dummy, _hasher.VerifiedHashes.Single());
        Assert.NotEqual(CountingPasswordHasher.HashOf(Password), dummy);
        Assert.Empty(_store.IssueRequests);
    }

    [Theory]
    [InlineData(null, Password)]
    [InlineData("", Password)]
    [InlineData("bad name", Password)]
    [InlineData("alice/..", Password)]
    [InlineData("alice\n", Password)]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123x", Password)]
    [InlineData(Name, null)]
    [InlineData(Name, "")]
    [InlineData(null, null)]
    public async Task An_invalid_username_or_a_missing_password_costs_exactly_one_verification_against_the_dummy_hash(string? username, string? password)
    {
        var result = await _service.GetTokenAsync(username, password, Here, CancellationToken.None);

        Assert.Equal(IssueStatus.AuthenticationFailure, result.Status);
        Assert.Null(result.AccountName);
        Assert.Null(result.Token);
        Assert.Equal(1, _hasher.VerifyCount);
        Assert.Equal(_hasher.MadeHashes.Single(), _hasher.VerifiedHashes.Single());
        Assert.Empty(_store.IssueRequests);
    }

    [Fact]
    public async Task An_overlong_password_is_never_compared_with_the_accounts_hash_but_still_costs_one_verification()
    {
        var result = await _service.GetTokenAsync(Name, new string('p', 1025), Here, CancellationToken.None);

        Assert.Equal(IssueStatus.AuthenticationFailure, result.Status);
        Assert.Equal(1, _hasher.VerifyCount);
        Assert.NotEqual(CountingPasswordHasher.HashOf(Password), _hasher.VerifiedHashes.Single());
    }

    [Fact]
    public async Task Every_failure_verifies_against_one_dummy_hash_made_once()
    {
        await _service.GetTokenAsync("bob", Password, Here, CancellationToken.None);
        await _service.GetTokenAsync("not valid", Password, Here, CancellationToken.None);
        await _service.GetTokenAsync("carol", null, Here, CancellationToken.None);

        var dummy = Assert.Single(_hasher.MadeHashes);
        Assert.Equal([dummy, dummy, dummy], _hasher.VerifiedHashes);
    }

    [Fact]
    public async Task A_wrong_password_for_a_known_account_names_the_account_for_logging_but_issues_nothing()
    {
        var result = await _service.GetTokenAsync(Name, "wrong-password", Here, CancellationToken.None);

        Assert.Equal(IssueStatus.AuthenticationFailure, result.Status);
        Assert.Equal(Name, result.AccountName);
        Assert.Equal([CountingPasswordHasher.HashOf(Password)], _hasher.VerifiedHashes);
        Assert.Empty(_store.TokensOf(Name));
    }

    [Fact]
    public async Task A_disabled_account_fails_authentication_even_with_the_right_password()
    {
        _store.AddAccount("disabled", CountingPasswordHasher.HashOf(Password), enabled: false);

        var result = await _service.GetTokenAsync("disabled", Password, Here, CancellationToken.None);

        Assert.Equal(IssueStatus.AuthenticationFailure, result.Status);
        Assert.Null(result.Token);
        Assert.Equal(1, _hasher.VerifyCount);
        Assert.Empty(_store.IssueRequests);
        Assert.Empty(_store.TokensOf("disabled"));
    }

    [Fact]
    public async Task Usernames_are_exact_so_another_case_is_another_account()
    {
        _store.AddAccount("Bob", CountingPasswordHasher.HashOf("bobs-password"));

        var wrongCase = await _service.GetTokenAsync("bob", "bobs-password", Here, CancellationToken.None);
        var rightCase = await _service.GetTokenAsync("Bob", "bobs-password", Here, CancellationToken.None);
        var otherAccount = await _service.GetTokenAsync("ALICE", Password, Here, CancellationToken.None);

        Assert.Equal(IssueStatus.AuthenticationFailure, wrongCase.Status);
        Assert.Equal(IssueStatus.Issued, rightCase.Status);
        Assert.Equal(IssueStatus.AuthenticationFailure, otherAccount.Status);
    }

    [Fact]
    public async Task A_password_whose_hash_is_outdated_is_accepted_and_rehashed()
    {
        _store.AddAccount("old", CountingPasswordHasher.OldPrefix + Password);

        var result = await _service.GetTokenAsync("old", Password, Here, CancellationToken.None);

        Assert.Equal(IssueStatus.Issued, result.Status);
        Assert.Equal(CountingPasswordHasher.HashOf(Password), _store.FindAccount("old")!.PasswordHash);
    }

    [Fact]
    public async Task A_password_changed_between_verification_and_issue_fails_authentication()
    {
        _hasher.OnVerify = () => _store.ChangeCredentialStamp(Name);

        var result = await _service.GetTokenAsync(Name, Password, Here, CancellationToken.None);

        Assert.Equal(IssueStatus.AuthenticationFailure, result.Status);
        Assert.Null(result.Token);
        Assert.Single(_store.IssueRequests);
        Assert.Empty(_store.TokensOf(Name));
    }

    // get: reuse

    [Fact]
    public async Task Get_again_for_the_same_address_set_returns_the_same_token_and_expiry()
    {
        var first = await IssueAsync(Set("10.0.0.1, 10.0.0.2"));
        _time.Advance(TimeSpan.FromHours(1));

        var second = await IssueAsync(Set("10.0.0.2,::ffff:10.0.0.1"));

        Assert.False(second.IsNew);
        Assert.Equal(first.Token, second.Token);
        Assert.Equal(first.Digest, second.Digest);
        Assert.Equal(first.ExpiresAt, second.ExpiresAt);
        Assert.Single(_store.TokensOf(Name));
    }

    [Fact]
    public async Task Get_for_a_different_address_set_issues_another_token()
    {
        var first = await IssueAsync(Set("10.0.0.1"));

        var second = await IssueAsync(Set("10.0.0.1,10.0.0.2"));
        var third = await IssueAsync(Set("10.0.0.2"));

        Assert.True(second.IsNew);
        Assert.True(third.IsNew);
        Assert.Equal(3, new[] { first.Token, second.Token, third.Token }.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(3, _store.TokensOf(Name).Count);
    }

    [Fact]
    public async Task Get_returns_the_same_token_until_it_expires_and_a_new_one_from_then_on()
    {
        var first = await IssueAsync();

        _time.SetUnixNow(first.ExpiresAt - 1);
        var beforeExpiry = await IssueAsync();
        _time.SetUnixNow(first.ExpiresAt);
        var atExpiry = await IssueAsync();

        Assert.Equal(first.Token, beforeExpiry.Token);
        Assert.NotEqual(first.Token, atExpiry.Token);
        Assert.True(atExpiry.IsNew);
        Assert.Equal(first.ExpiresAt + Lifetime, atExpiry.ExpiresAt);
        Assert.Equal(TokenStatus.Expired, await ValidateAsync(first.Token));
        Assert.Equal(TokenStatus.Valid, await ValidateAsync(atExpiry.Token));
    }

    [Fact]
    public async Task When_the_existing_token_cannot_be_unsealed_a_new_one_is_issued_and_the_old_one_keeps_working()
    {
        var first = await IssueAsync();
        using var rotated = new AesGcmTokenSealer(SealingKey.Generate());
        var afterRotation = Service(sealer: rotated);
        _time.Advance(TimeSpan.FromSeconds(1));

        var second = await IssueAsync(service: afterRotation);
        var third = await IssueAsync(service: afterRotation);

        Assert.True(second.IsNew);
        Assert.NotEqual(first.Token, second.Token);
        Assert.Equal(second.Token, third.Token);
        // The third get finds the new token on the read path, without asking the store to issue.
        Assert.Equal([false, false, true], _store.IssueRequests.Select(r => r.AlwaysAdd));
        Assert.Equal(2, _store.TokensOf(Name).Count);
        Assert.Equal(TokenStatus.Valid, await ValidateAsync(first.Token));
        Assert.Equal(TokenStatus.Valid, await ValidateAsync(second.Token));
    }

    [Fact]
    public async Task Concurrent_gets_for_one_account_and_set_return_one_token()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(() => IssueAsync())));

        Assert.Single(results.Select(r => r.Token).Distinct(StringComparer.Ordinal));
        Assert.Single(results, r => r.IsNew);
        Assert.Single(_store.TokensOf(Name));
    }

    [Fact]
    public async Task Get_answers_too_many_tokens_at_the_limit_of_active_tokens()
    {
        var service = Service(options: new TokenPolicyOptions { MaxActiveTokensPerAccount = 2 });
        var first = await IssueAsync(Set("10.0.0.1"), service);
        await IssueAsync(Set("10.0.0.2"), service);

        var third = await service.GetTokenAsync(Name, Password, Set("10.0.0.3"), CancellationToken.None);
        var existing = await service.GetTokenAsync(Name, Password, Set("10.0.0.1"), CancellationToken.None);

        Assert.Equal(IssueStatus.TooManyTokens, third.Status);
        Assert.Equal(Name, third.AccountName);
        Assert.Null(third.Token);
        Assert.Equal(IssueStatus.Issued, existing.Status);
        Assert.Equal(first.Token, existing.Token);
        Assert.Equal(2, _store.TokensOf(Name).Count);
        Assert.All(_store.IssueRequests, r => Assert.Equal(2, r.MaxActiveTokens));
    }

    [Fact]
    public async Task Expired_tokens_do_not_count_against_the_limit()
    {
        var service = Service(options: new TokenPolicyOptions { MaxActiveTokensPerAccount = 1 });
        var first = await IssueAsync(Set("10.0.0.1"), service);
        _time.SetUnixNow(first.ExpiresAt);

        var second = await service.GetTokenAsync(Name, Password, Set("10.0.0.2"), CancellationToken.None);

        Assert.Equal(IssueStatus.Issued, second.Status);
    }

    // validate

    [Fact]
    public async Task Validate_answers_valid_with_the_expiry_from_a_bound_address_and_invalid_from_another()
    {
        var issued = await IssueAsync(Set("10.0.0.1,2001:db8::1"));

        var fromBound = await _service.Validator.ValidateAsync(issued.Token, IPAddress.Parse("2001:db8::1"), CancellationToken.None);
        var fromOther = await _service.Validator.ValidateAsync(issued.Token, Stranger, CancellationToken.None);

        Assert.Equal(TokenStatus.Valid, fromBound.Status);
        Assert.Equal(issued.ExpiresAt, fromBound.Token!.ExpiresAt);
        Assert.Equal(Name, fromBound.Token.AccountName);
        Assert.Equal(TokenStatus.Invalid, fromOther.Status);
        Assert.Null(fromOther.Token);
    }

    [Fact]
    public async Task Validate_answers_invalid_for_a_missing_malformed_or_unknown_token()
    {
        var issued = await IssueAsync();

        Assert.Equal(TokenStatus.Invalid, await ValidateAsync(null));
        Assert.Equal(TokenStatus.Invalid, await ValidateAsync(""));
        Assert.Equal(TokenStatus.Invalid, await ValidateAsync(issued.Token!.ToUpperInvariant()));
        Assert.Equal(TokenStatus.Invalid, await ValidateAsync(issued.Token[..39]));
        Assert.Equal(TokenStatus.Invalid, await ValidateAsync(issued.Token + "0"));
        Assert.Equal(TokenStatus.Invalid, await ValidateAsync(TokenValues.Untagged()));
        Assert.Equal(TokenStatus.Valid, await ValidateAsync(issued.Token));
    }

    [Fact]
    public async Task Validate_answers_expired_within_the_retention_window_and_invalid_after_it()
    {
        var issued = await IssueAsync();

        _time.SetUnixNow(issued.ExpiresAt);
        var expired = await ValidateAsync(issued.Token);
        var expiredFromStranger = await ValidateAsync(issued.Token, Stranger);
        _time.SetUnixNow(issued.ExpiresAt + (long)TokenPolicyOptions.DefaultExpiredRetention.TotalSeconds);
        var afterRetention = await ValidateAsync(issued.Token);

        Assert.Equal(TokenStatus.Expired, expired);
        Assert.Equal(TokenStatus.Invalid, expiredFromStranger);
        Assert.Equal(TokenStatus.Invalid, afterRetention);
    }

    [Fact]
    public async Task Validate_never_changes_the_expiry()
    {
        var issued = await IssueAsync();

        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromHours(2));
            var validation = await _service.Validator.ValidateAsync(issued.Token, Caller, CancellationToken.None);
            Assert.Equal(issued.ExpiresAt, validation.Token!.ExpiresAt);
        }

        Assert.Equal(issued.ExpiresAt, Assert.Single(_store.TokensOf(Name)).ExpiresAt);
        Assert.Equal(issued.ExpiresAt, (await IssueAsync()).ExpiresAt);
    }

    [Fact]
    public async Task Validate_answers_invalid_once_the_account_is_disabled()
    {
        var issued = await IssueAsync();

        await _store.SetAccountEnabledAsync(Name, enabled: false, CancellationToken.None);

        Assert.Equal(TokenStatus.Invalid, await ValidateAsync(issued.Token));
    }

    // delete

    [Fact]
    public async Task Delete_from_a_bound_address_unauthorizes_the_token_at_once()
    {
        var issued = await IssueAsync();

        var deleted = await _service.DeleteAsync(issued.Token, Caller, CancellationToken.None);

        Assert.Equal(TokenStatus.Valid, deleted.Status);
        Assert.Equal(TokenStatus.Invalid, await ValidateAsync(issued.Token));
        Assert.Equal(TokenStatus.Invalid, (await _service.DeleteAsync(issued.Token, Caller, CancellationToken.None)).Status);
        Assert.Empty(_store.TokensOf(Name));
    }

    [Fact]
    public async Task After_delete_get_issues_a_new_token()
    {
        var issued = await IssueAsync();
        await _service.DeleteAsync(issued.Token, Caller, CancellationToken.None);

        var next = await IssueAsync();

        Assert.True(next.IsNew);
        Assert.NotEqual(issued.Token, next.Token);
    }

    [Fact]
    public async Task Delete_from_an_unbound_address_answers_invalid_and_leaves_the_token_working()
    {
        var issued = await IssueAsync();

        var deleted = await _service.DeleteAsync(issued.Token, Stranger, CancellationToken.None);

        Assert.Equal(TokenStatus.Invalid, deleted.Status);
        Assert.Equal(TokenStatus.Valid, await ValidateAsync(issued.Token));
    }

    [Fact]
    public async Task Delete_of_an_expired_token_answers_expired_and_deletes_nothing()
    {
        var issued = await IssueAsync();
        _time.SetUnixNow(issued.ExpiresAt);

        var deleted = await _service.DeleteAsync(issued.Token, Caller, CancellationToken.None);

        Assert.Equal(TokenStatus.Expired, deleted.Status);
        Assert.Single(_store.TokensOf(Name));
    }

    // newpass

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("1234567")]
    [InlineData("has\ncontrol")]
    public async Task ChangePassword_rejects_a_weak_password_and_changes_nothing(string? newPassword)
    {
        var used = await IssueAsync(Set("10.0.0.1"));
        var other = await IssueAsync(Set("10.0.0.1,10.0.0.2"));
        var hashesBefore = _hasher.MadeHashes.Count;

        var result = await _service.ChangePasswordAsync(used.Token, Caller, newPassword, CancellationToken.None);

        Assert.Equal(TokenStatus.Valid, result.TokenStatus);
        Assert.False(result.PasswordAccepted);
        Assert.Equal(hashesBefore, _hasher.MadeHashes.Count);
        Assert.Equal(CountingPasswordHasher.HashOf(Password), _store.FindAccount(Name)!.PasswordHash);
        Assert.Equal(TokenStatus.Valid, await ValidateAsync(other.Token));
        Assert.Equal(IssueStatus.Issued, (await _service.GetTokenAsync(Name, Password, Here, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task ChangePassword_rejects_a_password_longer_than_128_characters()
    {
        var used = await IssueAsync();

        var result = await _service.ChangePasswordAsync(used.Token, Caller, new string('p', 129), CancellationToken.None);

        Assert.False(result.PasswordAccepted);
        Assert.Equal(CountingPasswordHasher.HashOf(Password), _store.FindAccount(Name)!.PasswordHash);
    }

    [Fact]
    public async Task ChangePassword_sets_the_password_and_keeps_only_the_token_used()
    {
        var used = await IssueAsync(Set("10.0.0.1"));
        var other = await IssueAsync(Set("10.0.0.1,10.0.0.2"));
        var stampBefore = _store.FindAccount(Name)!.CredentialStamp;

        var result = await _service.ChangePasswordAsync(used.Token, Caller, "a-new-password", CancellationToken.None);

        Assert.Equal(TokenStatus.Valid, result.TokenStatus);
        Assert.True(result.PasswordAccepted);
        Assert.Equal(used.Digest, result.Token!.Digest);
        Assert.Equal(used.Digest, Assert.Single(_store.TokensOf(Name)).Digest);
        Assert.Equal(TokenStatus.Valid, await ValidateAsync(used.Token));
        Assert.Equal(TokenStatus.Invalid, await ValidateAsync(other.Token));
        Assert.NotEqual(stampBefore, _store.FindAccount(Name)!.CredentialStamp);
        Assert.Equal(IssueStatus.AuthenticationFailure, (await _service.GetTokenAsync(Name, Password, Here, CancellationToken.None)).Status);
        Assert.Equal(IssueStatus.Issued, (await _service.GetTokenAsync(Name, "a-new-password", Here, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task ChangePassword_with_a_token_not_valid_from_the_caller_changes_nothing()
    {
        var used = await IssueAsync();

        var fromStranger = await _service.ChangePasswordAsync(used.Token, Stranger, "a-new-password", CancellationToken.None);
        var unknown = await _service.ChangePasswordAsync(TokenValues.Untagged(), Caller, "a-new-password", CancellationToken.None);
        _time.SetUnixNow(used.ExpiresAt);
        var expired = await _service.ChangePasswordAsync(used.Token, Caller, "a-new-password", CancellationToken.None);

        Assert.Equal(new PasswordChangeResult(TokenStatus.Invalid, PasswordAccepted: false), fromStranger);
        Assert.Equal(new PasswordChangeResult(TokenStatus.Invalid, PasswordAccepted: false), unknown);
        Assert.Equal(new PasswordChangeResult(TokenStatus.Expired, PasswordAccepted: false), expired);
        Assert.Equal(CountingPasswordHasher.HashOf(Password), _store.FindAccount(Name)!.PasswordHash);
    }
}
