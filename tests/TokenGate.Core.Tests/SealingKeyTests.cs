using System.Runtime.Versioning;
using TokenGate.Security;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.Core.Tests;

/// <summary>The sealing key: its file, its permissions, its base64 form.</summary>
public sealed class SealingKeyTests
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void LoadOrCreate_creates_a_key_file_only_its_owner_can_read_or_write()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only.");
        using var directory = new TempDirectory();
        var path = directory.File("sealing.key");

        var key = SealingKey.LoadOrCreate(path);

        Assert.True(File.Exists(path));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(path));
        Assert.Equal(key.Bytes, Convert.FromBase64String(File.ReadAllText(path)));
        Assert.Equal(SealingKey.Length, key.Bytes.Length);
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void LoadOrCreate_creates_a_missing_directory_only_its_owner_can_enter()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only.");
        using var directory = new TempDirectory();
        var keyDirectory = Path.Combine(directory.Path, "keys");
        var path = Path.Combine(keyDirectory, "sealing.key");

        SealingKey.LoadOrCreate(path);

        Assert.True(File.Exists(path));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(keyDirectory));
    }

    [Fact]
    public void LoadOrCreate_reuses_the_key_it_created()
    {
        using var directory = new TempDirectory();
        var path = directory.File("sealing.key");

        var first = SealingKey.LoadOrCreate(path);
        var written = File.ReadAllText(path);
        var second = SealingKey.LoadOrCreate(path);

        Assert.Equal(first.Fingerprint, second.Fingerprint);
        Assert.Equal(first.Bytes, second.Bytes);
        Assert.Equal(written, File.ReadAllText(path));
        using var sealer = new AesGcmTokenSealer(first);
        using var reopened = new AesGcmTokenSealer(second);
        var token = TokenValues.Untagged();
        var digest = TokenValue.ComputeDigest(token);
        Assert.True(reopened.TryUnseal(sealer.Seal(token, digest), digest, out var opened));
        Assert.Equal(token, opened);
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void LoadOrCreate_reads_an_existing_private_key_file()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only.");
        using var directory = new TempDirectory();
        var path = directory.File("sealing.key");
        var key = SealingKey.Generate();
        File.WriteAllText(path, Convert.ToBase64String(key.Bytes) + "\n");
        File.SetUnixFileMode(path, OwnerReadWrite);

        Assert.Equal(key.Fingerprint, SealingKey.LoadOrCreate(path).Fingerprint);
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite)]
    [UnsupportedOSPlatform("windows")]
    public void LoadOrCreate_refuses_a_key_file_others_can_read_or_write(UnixFileMode mode)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only.");
        using var directory = new TempDirectory();
        var path = directory.File("sealing.key");
        SealingKey.LoadOrCreate(path);
        var written = File.ReadAllText(path);
        File.SetUnixFileMode(path, mode);

        var error = Assert.Throws<SealingKeyException>(() => SealingKey.LoadOrCreate(path));

        Assert.Contains("chmod 600", error.Message, StringComparison.Ordinal);
        Assert.Equal(written, File.ReadAllText(path));
    }

    [Theory]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA==")]
    [InlineData("")]
    [UnsupportedOSPlatform("windows")]
    public void LoadOrCreate_refuses_a_key_file_of_the_wrong_length_or_an_empty_one(string content)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only.");
        using var directory = new TempDirectory();
        var path = directory.File("sealing.key");
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, OwnerReadWrite);

        Assert.Throws<SealingKeyException>(() => SealingKey.LoadOrCreate(path));
        Assert.Equal(content, File.ReadAllText(path));
    }

    [Fact]
    public void Processes_racing_to_create_the_key_file_all_read_one_complete_key()
    {
        const int Racers = 8;
        for (var round = 0; round < 50; round++)
        {
            using var directory = new TempDirectory();
            var path = Path.Combine(directory.Path, "keys", "sealing.key");
            var fingerprints = new string[Racers];
            var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            using var start = new Barrier(Racers);
            var threads = Enumerable.Range(0, Racers).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                try
                {
                    fingerprints[i] = SealingKey.LoadOrCreate(path).Fingerprint;
                }
                catch (Exception e)
                {
                    errors.Enqueue(e);
                }
            })).ToList();

            threads.ForEach(thread => thread.Start());
            threads.ForEach(thread => thread.Join());

            Assert.Empty(errors);
            Assert.Single(fingerprints.Distinct(StringComparer.Ordinal));
            Assert.Equal(fingerprints[0], SealingKey.LoadOrCreate(path).Fingerprint);
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
        }
    }

    [Fact]
    public void FromBase64_accepts_32_bytes_with_surrounding_whitespace()
    {
        var key = SealingKey.Generate();

        var read = SealingKey.FromBase64("  " + Convert.ToBase64String(key.Bytes) + "\r\n");

        Assert.Equal(key.Fingerprint, read.Fingerprint);
        Assert.Equal(key.Bytes, read.Bytes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void FromBase64_rejects_a_key_of_the_wrong_length(int length)
    {
        var error = Assert.Throws<SealingKeyException>(() => SealingKey.FromBase64(Convert.ToBase64String(new byte[length])));

        Assert.Contains("32 bytes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("AAAA=AAA")]
    [InlineData("****************************************************")]
    public void FromBase64_rejects_text_that_is_not_base64(string text)
    {
        var error = Assert.Throws<SealingKeyException>(() => SealingKey.FromBase64(text));

        Assert.Contains("base64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fingerprint_is_8_hex_characters_and_differs_between_keys()
    {
        var one = SealingKey.Generate();
        var other = SealingKey.Generate();

        Assert.Matches("^[0-9a-f]{8}$", one.Fingerprint);
        Assert.NotEqual(one.Fingerprint, other.Fingerprint);
    }
}
