using System.Net;
using TokenGate.Accounts;
using TokenGate.Core.Tests.Fakes;
using TokenGate.Security;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.Core.Tests;

/// <summary>What operators do: creating accounts, setting passwords, purging expired tokens.</summary>
public sealed class AccountServiceTests
{
    private const long Retention = 7 * 86_400;

    private readonly ManualTimeProvider _time = new();
    private readonly InMemoryTokenGateStore _store = new();
    private readonly CountingPasswordHasher _hasher = new();
    private readonly TokenPolicyOptions _options = new();
    private readonly AccountService _accounts;

    public AccountServiceTests()
    {
        _accounts = new AccountService(_store, _hasher, PasswordPolicy.Default, _options, _time);
    }

    private long AddAccount(string name = "alice") => _store.AddAccount(name, CountingPasswordHasher.HashOf("password-1"));

    private void AddTokenExpiringAt(long accountId, long expiresAt)
    {
        var digest = TokenValue.ComputeDigest(TokenValues.Untagged());
        _store.AddToken(accountId, digest, "10.0.0.1", expiresAt - 43_200, expiresAt);
    }

    // create

    [Fact]
    public async Task Create_with_a_good_name_and_password_stores_the_hash_and_the_time()
    {
        var change = await _accounts.CreateAsync("alice", "password-1", CancellationToken.None);

        Assert.Equal(AccountChangeStatus.Done, change.Status);
        Assert.Null(change.GeneratedPassword);
        var account = _store.FindAccount("alice")!;
        Assert.Equal(CountingPasswordHasher.HashOf("password-1"), account.PasswordHash);
        Assert.Equal(_time.UnixNow, account.CreatedAt);
        Assert.True(account.Enabled);
    }

    [Theory]
    [InlineData("")]
    [InlineData("bad name")]
    [InlineData("al/ice")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123x")]
    public async Task Create_with_an_invalid_name_is_refused_before_the_store_is_asked(string name)
    {
        var change = await _accounts.CreateAsync(name, "password-1", CancellationToken.None);

        Assert.Equal(AccountChange.InvalidName, change);
        Assert.Equal(0, _store.CreateAccountCalls);
        Assert.Empty(_hasher.MadeHashes);
    }

    [Fact]
    public async Task Create_with_a_name_that_is_taken_answers_duplicate_and_keeps_the_first_password()
    {
        await _accounts.CreateAsync("alice", "password-1", CancellationToken.None);

        var change = await _accounts.CreateAsync("alice", "password-2", CancellationToken.None);

        Assert.Equal((AccountChangeStatus.Duplicate, "alice"), (change.Status, change.ExistingName));
        Assert.Equal(CountingPasswordHasher.HashOf("password-1"), _store.FindAccount("alice")!.PasswordHash);
    }

    [Fact]
    public async Task A_name_that_differs_only_in_case_from_an_existing_one_is_refused_naming_the_existing_account()
    {
        var lower = await _accounts.CreateAsync("alice", "password-1", CancellationToken.None);
        var upper = await _accounts.CreateAsync("Alice", "password-2", CancellationToken.None);

        Assert.Equal(AccountChangeStatus.Done, lower.Status);
        Assert.Equal((AccountChangeStatus.Duplicate, "alice"), (upper.Status, upper.ExistingName));
        Assert.Null(_store.FindAccount("Alice"));
    }

    [Fact]
    public void Clashing_names_are_found_in_groups_that_differ_only_in_case()
    {
        var clashes = AccountNameClashes.Find(["alice", "bob", "ALICE", "Alice", "carol", "Bob", "dave"]);

        Assert.Equal([["ALICE", "Alice", "alice"], ["Bob", "bob"]], clashes.Select(group => group.ToArray()).ToArray());
        Assert.Empty(AccountNameClashes.Find(["alice", "alice.b", "bob"]));
        Assert.Contains("ALICE, Alice, alice; Bob, bob.", AccountNameClashes.Describe(clashes), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("1234567")]
    [InlineData("tab\tinside")]
    public async Task Create_with_a_weak_password_is_refused_and_creates_nothing(string password)
    {
        var change = await _accounts.CreateAsync("alice", password, CancellationToken.None);

        Assert.Equal(AccountChange.PasswordRejected, change);
        Assert.Null(_store.FindAccount("alice"));
        Assert.Equal(0, _store.CreateAccountCalls);
    }

    [Fact]
    public async Task Create_without_a_password_generates_one_returns_it_and_stores_only_its_hash()
    {
        var change = await _accounts.CreateAsync("alice", null, CancellationToken.None);

        Assert.Equal(AccountChangeStatus.Done, change.Status);
        var generated = change.GeneratedPassword!;
        Assert.True(PasswordPolicy.Default.Accepts(generated));
        Assert.Equal(CountingPasswordHasher.HashOf(generated), _store.FindAccount("alice")!.PasswordHash);
        Assert.DoesNotContain(generated, change.ToString(), StringComparison.Ordinal);

        var other = await _accounts.CreateAsync("bob", null, CancellationToken.None);
        Assert.NotEqual(generated, other.GeneratedPassword);
    }

    [Fact]
    public async Task A_generated_password_authenticates_at_the_token_service()
    {
        var change = await _accounts.CreateAsync("alice", null, CancellationToken.None);
        using var sealer = new AesGcmTokenSealer(SealingKey.Generate());
        var tokens = new TokenService(_store, _hasher, sealer, new TokenTagger(SealingKey.Generate()), _options, PasswordPolicy.Default, _time);

        var result = await tokens.GetTokenAsync("alice", change.GeneratedPassword, AddressSet.Single(IPAddress.Loopback), CancellationToken.None);

        Assert.Equal(IssueStatus.Issued, result.Status);
    }

    // set password

    [Fact]
    public async Task SetPassword_replaces_the_hash_and_deletes_every_token()
    {
        var id = AddAccount();
        AddTokenExpiringAt(id, _time.UnixNow + 100);
        AddTokenExpiringAt(id, _time.UnixNow + 200);

        var change = await _accounts.SetPasswordAsync("alice", "password-2", CancellationToken.None);

        Assert.Equal(AccountChange.Done(), change);
        Assert.Equal(CountingPasswordHasher.HashOf("password-2"), _store.FindAccount("alice")!.PasswordHash);
        Assert.Empty(_store.TokensOf("alice"));
    }

    [Fact]
    public async Task SetPassword_refuses_a_weak_password_and_an_unknown_account()
    {
        AddAccount();

        Assert.Equal(AccountChange.PasswordRejected, await _accounts.SetPasswordAsync("alice", "short", CancellationToken.None));
        Assert.Equal(AccountChange.UnknownAccount, await _accounts.SetPasswordAsync("bob", "password-2", CancellationToken.None));
        Assert.Equal(CountingPasswordHasher.HashOf("password-1"), _store.FindAccount("alice")!.PasswordHash);
    }

    // purge

    [Fact]
    public async Task Purge_deletes_tokens_expired_for_longer_than_the_retention_window_and_keeps_the_rest()
    {
        var id = AddAccount();
        var now = _time.UnixNow;
        AddTokenExpiringAt(id, now - Retention - 1);
        AddTokenExpiringAt(id, now - Retention);
        AddTokenExpiringAt(id, now - Retention + 1);
        AddTokenExpiringAt(id, now - 1);
        AddTokenExpiringAt(id, now + 1);

        var purged = await _accounts.PurgeExpiredTokensAsync(includeRetained: false, batchSize: 100, TimeSpan.Zero, CancellationToken.None);

        Assert.Equal(2, purged);
        var call = Assert.Single(_store.PurgeCalls);
        Assert.Equal(now - Retention, call.Cutoff);
        Assert.Equal(100, call.BatchSize);
        Assert.Equal([now - Retention + 1, now - 1, now + 1], _store.TokensOf("alice").Select(t => t.ExpiresAt).Order());
    }

    [Fact]
    public async Task Purge_uses_the_configured_retention()
    {
        var accounts = new AccountService(_store, _hasher, PasswordPolicy.Default, new TokenPolicyOptions { ExpiredRetention = TimeSpan.FromHours(1) }, _time);

        await accounts.PurgeExpiredTokensAsync(includeRetained: false, batchSize: 10, TimeSpan.Zero, CancellationToken.None);

        Assert.Equal(_time.UnixNow - 3_600, Assert.Single(_store.PurgeCalls).Cutoff);
    }

    [Fact]
    public async Task Purge_including_retained_tokens_deletes_every_expired_token()
    {
        var id = AddAccount();
        var now = _time.UnixNow;
        AddTokenExpiringAt(id, now - Retention);
        AddTokenExpiringAt(id, now - 1);
        AddTokenExpiringAt(id, now);
        AddTokenExpiringAt(id, now + 1);

        var purged = await _accounts.PurgeExpiredTokensAsync(includeRetained: true, batchSize: 100, TimeSpan.Zero, CancellationToken.None);

        Assert.Equal(3, purged);
        Assert.Equal(now, Assert.Single(_store.PurgeCalls).Cutoff);
        Assert.Equal(now + 1, Assert.Single(_store.TokensOf("alice")).ExpiresAt);
    }

    [Theory]
    [InlineData(7, new[] { 3, 3, 1 })]
    [InlineData(6, new[] { 3, 3, 0 })]
    [InlineData(2, new[] { 2 })]
    [InlineData(0, new[] { 0 })]
    public async Task Purge_loops_over_batches_until_a_batch_is_short(int purgeable, int[] batches)
    {
        var id = AddAccount();
        for (var i = 0; i < purgeable; i++)
        {
            AddTokenExpiringAt(id, _time.UnixNow - Retention - i);
        }

        var purged = await _accounts.PurgeExpiredTokensAsync(includeRetained: false, batchSize: 3, TimeSpan.Zero, CancellationToken.None);

        Assert.Equal(purgeable, purged);
        Assert.Equal(batches, _store.PurgeCalls.Select(c => c.Deleted));
        Assert.All(_store.PurgeCalls, c => Assert.Equal(3, c.BatchSize));
        Assert.Single(_store.PurgeCalls.Select(c => c.Cutoff).Distinct());
        Assert.Empty(_store.TokensOf("alice"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task Purge_refuses_a_batch_size_below_one_instead_of_looping_forever(int batchSize)
    {
        var id = AddAccount();
        AddTokenExpiringAt(id, _time.UnixNow - Retention - 1);

        // Without the guard the loop never ends; the cancellation stops it, and the test fails on the wrong exception.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Task.Run(() => _accounts.PurgeExpiredTokensAsync(includeRetained: false, batchSize, TimeSpan.Zero, timeout.Token).AsTask(), CancellationToken.None));
        Assert.Empty(_store.PurgeCalls);
    }

    [Fact]
    public async Task Purge_pauses_between_batches()
    {
        var id = AddAccount();
        for (var i = 0; i < 4; i++)
        {
            AddTokenExpiringAt(id, _time.UnixNow - Retention - i);
        }

        // The manual clock's timers run on real time: two pauses of 50 ms take at least 100 ms.
        var started = TimeProvider.System.GetTimestamp();
        var purged = await _accounts.PurgeExpiredTokensAsync(includeRetained: false, batchSize: 2, TimeSpan.FromMilliseconds(50), CancellationToken.None);
        var elapsed = TimeProvider.System.GetElapsedTime(started);

        Assert.Equal(4, purged);
        Assert.Equal(3, _store.PurgeCalls.Count);
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(90), $"took {elapsed}");
    }

    [Fact]
    public async Task Purge_agrees_with_the_policy_about_which_tokens_answer_expired()
    {
        var id = AddAccount();
        var now = _time.UnixNow;
        for (var offset = -3; offset <= 3; offset++)
        {
            AddTokenExpiringAt(id, now - Retention + offset);
        }

        using var sealer = new AesGcmTokenSealer(SealingKey.Generate());
        var tokens = new TokenService(_store, _hasher, sealer, new TokenTagger(SealingKey.Generate()), _options, PasswordPolicy.Default, _time);
        var before = _store.TokensOf("alice");

        await _accounts.PurgeExpiredTokensAsync(includeRetained: false, batchSize: 100, TimeSpan.Zero, CancellationToken.None);
        var kept = _store.TokensOf("alice").Select(t => Convert.ToHexString(t.Digest)).ToHashSet();

        // Whatever the purge deletes, validate would already have answered Invalid; whatever it keeps still answers Expired.
        Assert.All(before, stored =>
        {
            var verdict = tokens.Validator.Judge(stored, stored.Digest, IPAddress.Parse("10.0.0.1")).Status;
            Assert.Equal(kept.Contains(Convert.ToHexString(stored.Digest)) ? TokenStatus.Expired : TokenStatus.Invalid, verdict);
        });
        Assert.Equal(3, kept.Count);
    }
}
