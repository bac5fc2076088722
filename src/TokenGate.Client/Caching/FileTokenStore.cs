using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace TokenGate.Client.Caching;

/// <summary>
/// One small JSON file per cache key in a directory: written to a temporary file with mode 0600 and renamed over the old one, so
/// a reader sees the old entry or the new one, never half of either. A file that is unreadable, too large, truncated, of another
/// format or written for another key is ignored (and overwritten by the next save): the worst a bad file can do is cost one
/// <c>get</c>. The token is in the file in the clear, as the vendor's advice implies; the file mode keeps other users out.
/// </summary>
internal sealed class FileTokenStore : ITokenStore
{
    internal const string Format = "tokengate-client-token/1";
    private const int MaxFileBytes = 16 * 1024;
    private const int MaxTokenLength = 512;

    private readonly string _directory;
    private readonly ILogger _logger;

    public FileTokenStore(string directory, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        _directory = Path.GetFullPath(directory);
        _logger = logger;
    }

    /// <summary>The file for a key: a digest of it, so that the name says nothing and any key makes a valid name.</summary>
    public string PathFor(string cacheKey)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(cacheKey));
        return Path.Combine(_directory, "token-" + Convert.ToHexString(digest, 0, 16).ToLowerInvariant() + ".json");
    }

    public async ValueTask<StoredToken?> GetAsync(string cacheKey, CancellationToken cancellationToken)
    {
        var path = PathFor(cacheKey);
        byte[] bytes;
        try
        {
            var file = new FileInfo(path);
            if (!file.Exists)
            {
                return null;
            }

            if (file.Length > MaxFileBytes)
            {
                Log.CacheFileIgnored(_logger, path, "larger than any token entry");
                return null;
            }

            bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            Log.CacheFileIgnored(_logger, path, exception.GetType().Name + ": " + exception.Message);
            return null;
        }

        var stored = Parse(bytes, cacheKey, out var problem);
        if (stored is null)
        {
            Log.CacheFileIgnored(_logger, path, problem!);
        }

        return stored;
    }

    public async ValueTask SetAsync(string cacheKey, StoredToken token, CancellationToken cancellationToken)
    {
        var path = PathFor(cacheKey);
        var content = Serialize(cacheKey, token);
        CreateDirectory();
        var temporary = Path.Combine(_directory, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            var stream = new FileStream(temporary, options);
            await using (stream)
            {
                await stream.WriteAsync(content, cancellationToken);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private void CreateDirectory()
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(_directory);
        }
        else
        {
            Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    internal static byte[] Serialize(string cacheKey, StoredToken token)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("format", Format);
            writer.WriteString("key", cacheKey);
            writer.WriteString("token", token.Value);
            writer.WriteNumber("expire", token.ExpiresAt.ToUnixTimeSeconds());
            writer.WriteNumber("localExpiresAt", token.LocalExpiresAt.ToUnixTimeMilliseconds());
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    internal static StoredToken? Parse(ReadOnlySpan<byte> bytes, string cacheKey, out string? problem)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String
                || !string.Equals(format.GetString(), Format, StringComparison.Ordinal))
            {
                problem = "not a token cache file of this format";
                return null;
            }

            if (!root.TryGetProperty("key", out var key) || key.ValueKind != JsonValueKind.String
                || !string.Equals(key.GetString(), cacheKey, StringComparison.Ordinal))
            {
                problem = "written for another endpoint, username or address set";
                return null;
            }

            if (!root.TryGetProperty("token", out var tokenElement) || tokenElement.GetString() is not { Length: > 0 and <= MaxTokenLength } token
                || token.Any(c => c is <= ' ' or > '~')
                || !root.TryGetProperty("expire", out var expire) || !expire.TryGetInt64(out var expireSeconds)
                || !root.TryGetProperty("localExpiresAt", out var local) || !local.TryGetInt64(out var localMilliseconds))
            {
                problem = "missing or malformed fields";
                return null;
            }

            problem = null;
            return new StoredToken(token, DateTimeOffset.FromUnixTimeSeconds(expireSeconds), DateTimeOffset.FromUnixTimeMilliseconds(localMilliseconds));
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or ArgumentOutOfRangeException or FormatException)
        {
            problem = "not valid JSON";
            return null;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // A leftover temporary file is harmless: it is never read.
        }
    }
}
