using System.Text;
using TokenGate.Client.Caching;
using TokenGate.Testing;

namespace TokenGate.Client.Tests;

/// <summary>The file store: a restarted process (a second provider) reuses the token; a bad or foreign file costs one get, never an error.</summary>
public sealed class PersistentCacheTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new("tokengate-client-cache");
    private TokenGateTestServer _server = null!;
    private Account _account = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await TokenGateTestServer.StartAsync();
        _account = await _server.NewAccountAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    private long Gets => _server.Metrics.Requests("get");

    private TokenClientOptions Options(Account? account = null)
    {
        var options = _server.Options(account ?? _account);
        options.CacheDirectory = _directory.Path;
        return options;
    }

    private static ITokenProvider Provider(TokenClientOptions options, CapturedLogs? logs = null) =>
        TokenClients.CreateProvider(Clients.Http(), options, loggerFactory: logs is null ? null : Clients.Loggers(logs));

    private string CacheFile(TokenClientOptions options) =>
        new FileTokenStore(_directory.Path, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)
            .PathFor(TokenCacheKey.Create(options.Endpoint!, options.Username!, options.Addresses));

    [Fact]
    public async Task A_second_provider_instance_reuses_the_stored_token_without_a_get()
    {
        var first = await Provider(Options()).GetTokenAsync();

        var second = await Provider(Options()).GetTokenAsync();

        Assert.Equal(first.Value, second.Value);
        Assert.Equal(first.ExpiresAt, second.ExpiresAt);
        Assert.Equal(1, Gets);
    }

    [Fact]
    public async Task The_file_is_written_with_mode_0600_atomically_and_for_one_key_only()
    {
        var options = Options();
        await Provider(options).GetTokenAsync();
        var other = Options();
        other.Addresses.Add("127.0.0.1");
        await Provider(other).GetTokenAsync();

        var files = Directory.GetFiles(_directory.Path);
        Assert.Equal(2, files.Length);
        Assert.Contains(CacheFile(options), files);
        Assert.Contains(CacheFile(other), files);
        if (!OperatingSystem.IsWindows())
        {
            foreach (var file in files)
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(_directory.Path) & (UnixFileMode.OtherWrite | UnixFileMode.GroupWrite));
        }

        Assert.DoesNotContain(files, f => f.EndsWith(".tmp", StringComparison.Ordinal));
        Assert.Equal(2, Gets);
    }

    public static TheoryData<string> CorruptContents() =>
    [
        "",
        "not json at all",
        "{\"format\":\"tokengate-client-token/1\",\"key\":",
        "[1,2,3]",
        "{\"access_token\":\"abc\",\"expires_in\":3600}",
        "{\"format\":\"tokengate-client-token/1\",\"key\":\"KEY\",\"token\":\"\",\"expire\":1,\"localExpiresAt\":1}",
        "{\"format\":\"tokengate-client-token/1\",\"key\":\"KEY\",\"token\":\"abc\\r\\nX-Injected: 1\",\"expire\":4102444800,\"localExpiresAt\":4102444800000}",
        "{\"format\":\"tokengate-client-token/1\",\"key\":\"KEY\",\"token\":\"abc\",\"expire\":\"soon\",\"localExpiresAt\":4102444800000}",
        "{\"format\":\"tokengate-client-token/1\",\"key\":\"KEY\",\"token\":\"" + new string('a', 40) + "\",\"expire\":1,\"localExpiresAt\":1}",
        "\0\0\0\0\0\0\0\0",
        "{\"pad\":\"" + new string('x', 20_000) + "\"}",
    ];

    [Theory]
    [MemberData(nameof(CorruptContents))]
    public async Task A_corrupt_truncated_foreign_or_stale_file_is_ignored_and_replaced(string content)
    {
        var options = Options();
        var key = TokenCacheKey.Create(options.Endpoint!, options.Username!, options.Addresses);
        Directory.CreateDirectory(_directory.Path);
        await File.WriteAllTextAsync(CacheFile(options), content.Replace("KEY", key.Replace("\"", "\\\"", StringComparison.Ordinal), StringComparison.Ordinal));
        var logs = new CapturedLogs();

        var token = await Provider(options, logs).GetTokenAsync();
        var reused = await Provider(Options()).GetTokenAsync();

        Assert.Matches("^[0-9a-f]{40}$", token.Value);
        Assert.Equal(token.Value, reused.Value);
        Assert.Equal(1, Gets);
        Assert.DoesNotContain(logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_truncated_copy_of_a_good_file_is_ignored()
    {
        var options = Options();
        await Provider(options).GetTokenAsync();
        var path = CacheFile(options);
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2)]);

        await Provider(Options()).GetTokenAsync();

        Assert.Equal(2, Gets);
    }

    [Fact]
    public async Task A_file_written_for_another_username_is_ignored_even_under_this_ones_name()
    {
        var other = await _server.NewAccountAsync();
        var othersToken = await Provider(Options(other)).GetTokenAsync();
        var options = Options();
        File.Copy(CacheFile(Options(other)), CacheFile(options));
        var logs = new CapturedLogs();

        var token = await Provider(options, logs).GetTokenAsync();

        Assert.NotEqual(othersToken.Value, token.Value);
        Assert.Equal(2, Gets);
        Assert.Contains(logs.Lines, l => l.Contains("another endpoint, username or address set", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_renewal_after_rejection_overwrites_the_stored_token()
    {
        var provider = Provider(Options());
        var first = await provider.GetTokenAsync();
        await _server.Api().DeleteTokenAsync(first.Value);

        var renewed = await provider.RenewTokenAsync(first);
        var afterRestart = await Provider(Options()).GetTokenAsync();

        Assert.NotEqual(first.Value, renewed.Value);
        Assert.Equal(renewed.Value, afterRestart.Value);
        Assert.Equal(2, Gets);
    }

    [Fact]
    public async Task A_store_that_fails_costs_a_get_and_a_warning_never_an_error_for_the_caller()
    {
        var logs = new CapturedLogs();
        var provider = TokenClients.CreateProvider(Clients.Http(), _server.Options(_account), store: new BrokenStore(), loggerFactory: Clients.Loggers(logs));

        var token = await provider.GetTokenAsync();

        Assert.Matches("^[0-9a-f]{40}$", token.Value);
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("Reading the stored token", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("Storing the token", StringComparison.Ordinal));
    }

    [Fact]
    public void The_file_format_round_trips_and_refuses_another_key()
    {
        var stored = new StoredToken(new string('b', 40), DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123));

        var bytes = FileTokenStore.Serialize("key-a", stored);
        var back = FileTokenStore.Parse(bytes, "key-a", out _);

        Assert.Equal((stored.Value, stored.ExpiresAt, stored.LocalExpiresAt), (back!.Value, back.ExpiresAt, back.LocalExpiresAt));
        Assert.Null(FileTokenStore.Parse(bytes, "key-b", out var problem));
        Assert.NotNull(problem);
        Assert.Contains("tokengate-client-token/1", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }

    private sealed class BrokenStore : ITokenStore
    {
        public ValueTask<StoredToken?> GetAsync(string cacheKey, CancellationToken cancellationToken) => throw new IOException("disk on fire");

        public ValueTask SetAsync(string cacheKey, StoredToken token, CancellationToken cancellationToken) => throw new IOException("disk on fire");
    }
}
