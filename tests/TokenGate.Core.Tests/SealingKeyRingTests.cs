using System.Runtime.Versioning;
using System.Text;
using TokenGate.Security;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.Core.Tests;

/// <summary>The sealing-key ring: its file format, the single-key file read as a ring of one, and tags and sealing following it.</summary>
public sealed class SealingKeyRingTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_790_000_000);

    [Fact]
    public void A_single_key_file_is_a_ring_of_one_active_key_with_id_1_whose_tokens_and_seals_the_old_code_made_still_open()
    {
        var key = SealingKey.Generate();
        var oldTagger = new TokenTagger(key);
        var oldSealer = new AesGcmTokenSealer(key);
        var token = TokenValue.Generate(oldTagger);
        var digest = TokenValue.ComputeDigest(token);
        var sealedToken = oldSealer.Seal(token, digest);

        var ring = SealingKeyRing.Parse(Convert.ToBase64String(key.Bytes) + "\n");

        var only = Assert.Single(ring.Keys);
        Assert.Equal((TokenTagger.CurrentKeyId, SealingKeyState.Active, key.Fingerprint), (only.Id, only.State, only.Fingerprint));
        Assert.True(ring.IsSingleKeyFormat);
        var loaded = new LoadedKeyRing(ring);
        Assert.True(new TokenTagger(loaded).Verify(token));
        Assert.True(new AesGcmTokenSealer(loaded).TryUnseal(sealedToken, digest, out var opened));
        Assert.Equal(token, opened);
    }

    [Fact]
    public void A_ring_survives_its_file_format_and_the_file_never_holds_a_retired_key()
    {
        var ring = SealingKeyRing.OfOne(SealingKey.Generate()).WithNewKey(Now).WithNewKey(Now.AddDays(1));
        ring = ring.WithActive(ring.Keys[1]);
        ring = ring.WithRetired(ring.Keys[0]);

        var text = Encoding.UTF8.GetString(ring.Serialize());
        var read = SealingKeyRing.Parse(text);

        Assert.Contains("\"format\": \"tokengate-keyring\"", text, StringComparison.Ordinal);
        Assert.Contains("\"version\": 1", text, StringComparison.Ordinal);
        Assert.Equal(
            ring.Keys.Select(k => (k.Id, k.State, k.CreatedAt, k.Fingerprint, k.Key?.Fingerprint)),
            read.Keys.Select(k => (k.Id, k.State, k.CreatedAt, k.Fingerprint, k.Key?.Fingerprint)));
        Assert.Equal([1, 2, 3], read.Keys.Select(k => (int)k.Id));
        Assert.Equal([SealingKeyState.Retired, SealingKeyState.Active, SealingKeyState.Accepted], read.Keys.Select(k => k.State));
        Assert.Null(read.Keys[0].Key);
        Assert.Equal(2, text.Split("\"key\":").Length - 1);
        Assert.False(read.IsSingleKeyFormat);
    }

    [Theory]
    [InlineData("{\"format\":\"tokengate-keyring\",\"version\":2,\"keys\":[]}", "version")]
    [InlineData("{\"format\":\"other\",\"version\":1,\"keys\":[]}", "format")]
    [InlineData("{\"format\":\"tokengate-keyring\",\"version\":1,\"keys\":[]}", "0 active keys")]
    [InlineData("{\"format\":\"tokengate-keyring\",\"version\":1", "not valid JSON")]
    [InlineData("{\"format\":\"tokengate-keyring\",\"version\":1,\"keys\":[{\"id\":1,\"state\":\"active\"}]}", "no \"key\"")]
    [InlineData("{\"format\":\"tokengate-keyring\",\"version\":1,\"keys\":[{\"id\":1,\"state\":\"sleeping\",\"key\":\"x\"}]}", "state")]
    public void A_damaged_or_unknown_ring_is_refused_with_what_is_wrong(string text, string expected)
    {
        var exception = Assert.Throws<SealingKeyException>(() => SealingKeyRing.Parse(text));

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_whose_fingerprint_does_not_match_the_file_is_refused_as_altered()
    {
        var ring = SealingKeyRing.OfOne(SealingKey.Generate());
        var text = Encoding.UTF8.GetString(ring.Serialize()).Replace(ring.Active.Fingerprint, "00000000", StringComparison.Ordinal);

        Assert.Contains("altered", Assert.Throws<SealingKeyException>(() => SealingKeyRing.Parse(text)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_token_key_id_picks_the_key_so_tokens_under_an_accepted_key_verify_and_open_until_it_is_retired()
    {
        var ring = SealingKeyRing.OfOne(SealingKey.Generate()).WithNewKey(Now);
        var loaded = new LoadedKeyRing(ring);
        var tagger = new TokenTagger(loaded);
        var sealer = new AesGcmTokenSealer(loaded);
        var old = TokenValue.Generate(tagger);
        var oldDigest = TokenValue.ComputeDigest(old);
        var oldSealed = sealer.Seal(old, oldDigest);

        loaded.Replace(ring.WithActive(ring.Keys[1]));
        var current = TokenValue.Generate(tagger);
        var currentDigest = TokenValue.ComputeDigest(current);
        var currentSealed = sealer.Seal(current, currentDigest);

        Assert.StartsWith("01", old, StringComparison.Ordinal);
        Assert.StartsWith("02", current, StringComparison.Ordinal);
        Assert.Equal(ring.Keys[0].Fingerprint, Convert.ToHexStringLower(oldSealed.AsSpan(1, 4)));
        Assert.Equal(ring.Keys[1].Fingerprint, Convert.ToHexStringLower(currentSealed.AsSpan(1, 4)));
        Assert.True(tagger.Verify(old));
        Assert.True(tagger.Verify(current));
        Assert.True(sealer.TryUnseal(oldSealed, oldDigest, out var opened) && opened == old);

        // A token of key 1 sealed after key 2 became active is still sealed under key 1: the key that tagged it.
        var lateSealed = sealer.Seal(old, oldDigest);
        Assert.Equal(ring.Keys[0].Fingerprint, Convert.ToHexStringLower(lateSealed.AsSpan(1, 4)));

        loaded.Replace(loaded.Ring.WithRetired(loaded.Ring.Keys[0]));
        Assert.False(tagger.Verify(old));
        Assert.False(sealer.TryUnseal(oldSealed, oldDigest, out _));
        Assert.True(tagger.Verify(current));
        Assert.True(sealer.TryUnseal(currentSealed, currentDigest, out var stillOpened) && stillOpened == current);
    }

    [Fact]
    public void A_token_naming_a_key_id_the_ring_lacks_fails_even_with_the_tag_of_another_key()
    {
        var key = SealingKey.Generate();
        var token = Convert.FromHexString(TokenValue.Generate(new TokenTagger(key)));
        token[0] = 7;

        Assert.False(new TokenTagger(key).Verify(Convert.ToHexStringLower(token)));
    }

    [Fact]
    public void The_active_key_cannot_be_retired_nor_a_retired_key_activated()
    {
        var ring = SealingKeyRing.OfOne(SealingKey.Generate()).WithNewKey(Now);
        Assert.Throws<SealingKeyException>(() => ring.WithRetired(ring.Active));
        var retired = ring.WithRetired(ring.Keys[1]);
        Assert.Throws<SealingKeyException>(() => retired.WithActive(retired.Keys[1]));
    }

    [Fact]
    public void Missing_names_the_fingerprints_of_live_tokens_the_ring_neither_holds_nor_retired()
    {
        var ring = SealingKeyRing.OfOne(SealingKey.Generate()).WithRetiredUnknown("0badc0de");
        var live = new Dictionary<string, long> { [ring.Active.Fingerprint] = 3, ["0badc0de"] = 2, ["12345678"] = 5, ["9abcdef0"] = 0 };

        Assert.Equal([new KeyValuePair<string, long>("12345678", 5)], ring.Missing(live));
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void Save_replaces_the_file_whole_with_mode_0600_and_Load_reads_it_back()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only.");
        using var directory = new TempDirectory();
        var path = directory.File("tokengate.key");
        var first = SealingKeyRing.LoadOrCreate(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var ring = first.WithNewKey(Now);
        ring.Save(path);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(ring.Keys.Select(k => k.Fingerprint), SealingKeyRing.Load(path).Keys.Select(k => k.Fingerprint));
        Assert.Equal(first.Active.Fingerprint, SealingKey.Load(path).Fingerprint);
        Assert.Equal(["tokengate.key"], Directory.GetFiles(directory.Path).Select(Path.GetFileName));
    }
}
