using System.Net;
using System.Security.Cryptography;
using TokenGate.Security;
using TokenGate.Tokens;
using Xunit;

namespace TokenGate.Storage.Conformance;

/// <summary>
/// Tagged tokens and the tokens issued before tags (issue 15): the legacy-token marker the upgrade sets, and the validator over
/// the store — a tagged token validates, a forged one is refused, an untagged one from before the upgrade validates until its
/// expiry plus retention, and after that the fallback is off.
/// </summary>
public abstract partial class TokenGateStoreSpecification
{
    private const long Retention = 7 * 86_400;

    private static readonly IPAddress Holder = IPAddress.Parse("10.0.0.1");

    /// <summary>
    /// A store over a database written at the schema before tags, holding one account ("legacy") with tokens of the given digests
    /// and expiries (bound to 10.0.0.1, as the older build wrote them), then opened, and so migrated, by this build. Null when the
    /// backend has no earlier schema (the in-memory fake): the facts that need it then pass without checking.
    /// </summary>
    protected virtual Task<ITokenGateStore?> UpgradeFromBeforeTagsAsync(IReadOnlyList<(byte[] Digest, long ExpiresAt)> tokens) =>
        Task.FromResult<ITokenGateStore?>(null);

    [Fact(Timeout = TestTimeout)]
    public async Task A_new_database_has_no_legacy_token_marker()
    {
        await using var store = await CreateStoreAsync();

        Assert.Null((store as ILegacyTokenMarker)?.LegacyTokensExpireAt);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_upgrade_of_a_database_holding_tokens_marks_the_latest_expiry_and_keeps_the_tokens()
    {
        var (first, latest, past) = (NewDigest(), NewDigest(), NewDigest());
        await using var store = await UpgradeFromBeforeTagsAsync([(first, Now + 100), (latest, Now + 500), (past, Now - 50)]);
        if (store is null)
        {
            return;
        }

        Assert.Equal(Now + 500, ((ILegacyTokenMarker)store).LegacyTokensExpireAt);
        Assert.Equal(Now + 500, (await store.FindTokenAsync(latest, Cancel))!.ExpiresAt);
        Assert.Equal(Now - 50, (await store.FindTokenAsync(past, Cancel))!.ExpiresAt);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_upgrade_of_a_database_without_tokens_sets_no_marker()
    {
        await using var store = await UpgradeFromBeforeTagsAsync([]);
        if (store is null)
        {
            return;
        }

        Assert.Null(((ILegacyTokenMarker)store).LegacyTokensExpireAt);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_marker_is_cleared_only_once_its_expiry_is_at_or_before_the_cutoff_and_stays_cleared()
    {
        await using var store = await UpgradeFromBeforeTagsAsync([(NewDigest(), Now + 500)]);
        if (store is null)
        {
            return;
        }

        var marker = (ILegacyTokenMarker)store;
        Assert.False(await marker.ClearLegacyTokenMarkerAsync(Now + 499, Cancel));
        Assert.Equal(Now + 500, marker.LegacyTokensExpireAt);

        Assert.True(await marker.ClearLegacyTokenMarkerAsync(Now + 500, Cancel));
        Assert.Null(marker.LegacyTokensExpireAt);
        Assert.True(await marker.ClearLegacyTokenMarkerAsync(Now + 500, Cancel));

        await using var reopened = await OpenSecondStoreAsync(store);
        Assert.Null((reopened as ILegacyTokenMarker)?.LegacyTokensExpireAt);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_tagged_token_validates_and_the_same_token_with_one_tag_bit_flipped_is_refused()
    {
        await using var store = await CreateStoreAsync();
        var tagger = new TokenTagger(SealingKey.Generate());
        var token = TokenValue.Generate(tagger);
        var account = await NewAccountAsync(store, "alice");
        var digest = TokenValue.ComputeDigest(token);
        var request = Request(account, "10.0.0.1") with { Digest = digest };
        Assert.Equal(TokenIssueStatus.Added, (await store.GetOrAddTokenAsync(request, Cancel)).Status);
        var validator = Validator(store, tagger, new FixedClock(Now));

        Assert.Equal(TokenStatus.Valid, (await validator.ValidateAsync(token, Holder, Cancel)).Status);
        var forged = Convert.FromHexString(token);
        forged[^1] ^= 1;
        Assert.Equal(TokenStatus.Invalid, (await validator.ValidateAsync(Convert.ToHexStringLower(forged), Holder, Cancel)).Status);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task An_untagged_token_from_before_the_upgrade_validates_until_its_expiry_plus_retention_then_the_fallback_is_off()
    {
        var untagged = RandomNumberGenerator.GetHexString(TokenValue.Length, lowercase: true);
        var expiresAt = Now + 500;
        await using var store = await UpgradeFromBeforeTagsAsync([(TokenValue.ComputeDigest(untagged), expiresAt)]);
        if (store is null)
        {
            return;
        }

        var tagger = new TokenTagger(SealingKey.Generate());
        var clock = new FixedClock(Now);
        var validator = Validator(store, tagger, clock);

        Assert.Equal(TokenStatus.Valid, (await validator.ValidateAsync(untagged, Holder, Cancel)).Status);
        clock.UnixNow = expiresAt + Retention - 1;
        Assert.Equal(TokenStatus.Expired, (await validator.ValidateAsync(untagged, Holder, Cancel)).Status);
        Assert.True(validator.MayBeIssued(RandomNumberGenerator.GetHexString(TokenValue.Length, lowercase: true)));

        clock.UnixNow = expiresAt + Retention;
        Assert.Equal(TokenStatus.Invalid, (await validator.ValidateAsync(untagged, Holder, Cancel)).Status);
        Assert.False(validator.MayBeIssued(untagged));

        // Off for good, even were the clock to go back.
        clock.UnixNow = Now;
        Assert.False(validator.MayBeIssued(untagged));
    }

    private static TokenValidator Validator(ITokenLookupStore store, TokenTagger tagger, TimeProvider clock) =>
        new(store, new TokenPolicyOptions { ExpiredRetention = TimeSpan.FromSeconds(Retention) }, clock, caches: null, tagger);

    /// <summary>A clock that reads what the test sets (the conformance project has no test-support reference).</summary>
    private sealed class FixedClock(long unixNow) : TimeProvider
    {
        public long UnixNow { get; set; } = unixNow;

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeSeconds(UnixNow);
    }
}
