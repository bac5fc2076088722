using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TokenGate.Security;

/// <summary>The part a key of the ring plays.</summary>
public enum SealingKeyState
{
    /// <summary>Tags and seals new tokens; exactly one key of a ring is active.</summary>
    Active,

    /// <summary>Verifies and opens tokens made under it, makes no new ones.</summary>
    Accepted,

    /// <summary>Gone: only its id and fingerprint remain, so that tokens once sealed under it are known to be given up.</summary>
    Retired,
}

/// <summary>A key of the ring: its id (the first byte of every token it tags; 0 for a retired key whose id was never known), its
/// state, when it was made, its fingerprint (not secret) and, unless retired, the key.</summary>
public sealed record RingKey(byte Id, SealingKeyState State, DateTimeOffset? CreatedAt, string Fingerprint, SealingKey? Key)
{
    /// <summary>The id as the CLI shows it: the number, or <c>-</c> for a retired key whose id is unknown.</summary>
    public string DisplayId => Id == 0 ? "-" : Id.ToString(CultureInfo.InvariantCulture);

    public static string StateName(SealingKeyState state) => state switch
    {
        SealingKeyState.Active => "active",
        SealingKeyState.Accepted => "accepted",
        _ => "retired",
    };

    /// <summary>Never prints key material.</summary>
    public override string ToString() => $"{DisplayId} ({StateName(State)}, {Fingerprint})";
}

/// <summary>
/// The sealing keys a server holds: one <see cref="SealingKeyState.Active"/> key that tags and seals new tokens, any number of
/// <see cref="SealingKeyState.Accepted"/> keys that still verify and open the tokens made under them, and the ids and
/// fingerprints of retired keys. A token names the key that tagged it by its first byte (the key's id) and a sealed value names
/// its key by the key's fingerprint, so a key can be replaced without touching a token. Stored as JSON
/// (<c>{"format":"tokengate-keyring","version":1,"keys":[...]}</c>); a file or <c>TOKENGATE_SEALING_KEY</c> holding the base64
/// of one key (every file before the ring) is a ring of that one key, id 1, active.
/// </summary>
public sealed class SealingKeyRing
{
    public const string FormatName = "tokengate-keyring";
    public const int FormatVersion = 1;

    private SealingKeyRing(IReadOnlyList<RingKey> keys)
    {
        Keys = keys;
        Active = keys.Single(k => k.State == SealingKeyState.Active);
    }

    public IReadOnlyList<RingKey> Keys { get; }

    public RingKey Active { get; }

    /// <summary>Whether the ring came from a file of one bare key (the format before the ring); the next change writes the ring format.</summary>
    public bool IsSingleKeyFormat { get; private init; }

    /// <summary>The ring of one key that a single-key file (or base64 value) is: id <see cref="TokenTagger.CurrentKeyId"/>, active.</summary>
    public static SealingKeyRing OfOne(SealingKey key) =>
        new([new RingKey(TokenTagger.CurrentKeyId, SealingKeyState.Active, null, key.Fingerprint, key)]) { IsSingleKeyFormat = true };

    /// <summary>The key with this id (a number) or fingerprint (8 hex digits), or null.</summary>
    public RingKey? Find(string idOrFingerprint)
    {
        var text = idOrFingerprint.Trim();
        if (byte.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id != 0)
        {
            return Keys.FirstOrDefault(k => k.Id == id);
        }

        return Keys.FirstOrDefault(k => string.Equals(k.Fingerprint, text, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Whether the ring knows a key of this fingerprint, held or retired.</summary>
    public bool Knows(string fingerprint) => Keys.Any(k => string.Equals(k.Fingerprint, fingerprint, StringComparison.OrdinalIgnoreCase));

    /// <summary>The fingerprints in <paramref name="liveTokensByKey"/> (live tokens per sealing-key fingerprint) this ring neither holds nor retired.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Missing(IReadOnlyDictionary<string, long> liveTokensByKey) =>
        [.. liveTokensByKey.Where(pair => pair.Value > 0 && !Knows(pair.Key)).OrderBy(pair => pair.Key, StringComparer.Ordinal)];

    /// <summary>The ring with a new random <see cref="SealingKeyState.Accepted"/> key, which gets the next free id.</summary>
    public SealingKeyRing WithNewKey(DateTimeOffset now)
    {
        var used = Keys.Select(k => (int)k.Id).ToHashSet();
        var next = Keys.Max(k => (int)k.Id) + 1;
        if (next > byte.MaxValue)
        {
            next = Enumerable.Range(1, byte.MaxValue).FirstOrDefault(id => !used.Contains(id));
            if (next == 0)
            {
                throw new SealingKeyException("The key ring holds 255 key ids; remove retired keys from the file before adding another.");
            }
        }

        var key = SealingKey.Generate();
        return new SealingKeyRing([.. Keys, new RingKey((byte)next, SealingKeyState.Accepted, Truncate(now), key.Fingerprint, key)]);
    }

    /// <summary>The ring with <paramref name="key"/> active and the key active before it accepted.</summary>
    public SealingKeyRing WithActive(RingKey key)
    {
        if (key.State == SealingKeyState.Retired)
        {
            throw new SealingKeyException($"Key {key.DisplayId} is retired; add a new key instead.");
        }

        return new SealingKeyRing([.. Keys.Select(k =>
            k == key ? k with { State = SealingKeyState.Active } : k.State == SealingKeyState.Active ? k with { State = SealingKeyState.Accepted } : k)]);
    }

    /// <summary>The ring with <paramref name="key"/> retired: its key material is gone, its id and fingerprint stay.</summary>
    public SealingKeyRing WithRetired(RingKey key) => key.State switch
    {
        SealingKeyState.Active => throw new SealingKeyException($"Key {key.DisplayId} is the active key; activate another key first."),
        SealingKeyState.Retired => throw new SealingKeyException($"Key {key.DisplayId} is already retired."),
        _ => new SealingKeyRing([.. Keys.Select(k => k == key ? k with { State = SealingKeyState.Retired, Key = null } : k)]),
    };

    /// <summary>The ring with a key it never held recorded as retired (the tokens sealed under it are given up).</summary>
    public SealingKeyRing WithRetiredUnknown(string fingerprint)
    {
        if (!IsFingerprint(fingerprint))
        {
            throw new SealingKeyException($"'{fingerprint}' is neither a key id of the ring nor a key fingerprint (8 hex digits).");
        }

        return new SealingKeyRing([.. Keys, new RingKey(0, SealingKeyState.Retired, null, fingerprint.ToLowerInvariant(), null)]);
    }

    /// <summary>Reads a ring from text: the versioned JSON format, or the base64 of one key (read as a ring of one).</summary>
    public static SealingKeyRing Parse(string text)
    {
        var trimmed = text.Trim();
        return trimmed.StartsWith('{') ? ParseJson(trimmed) : OfOne(SealingKey.FromBase64(trimmed));
    }

    /// <summary>Reads the key file, creating it (one key, mode 0600) when it does not exist; see <see cref="SealingKey.LoadOrCreate"/>.</summary>
    public static SealingKeyRing LoadOrCreate(string path) => Parse(SealingKey.ReadKeyFile(path, create: true));

    /// <summary>Reads an existing key file, never creating one; see <see cref="SealingKey.Load"/>.</summary>
    public static SealingKeyRing Load(string path) => Parse(SealingKey.ReadKeyFile(path, create: false));

    /// <summary>
    /// Writes the ring to <paramref name="path"/> atomically: a new file (mode 0600) beside it, flushed to disk, then renamed over
    /// it, so a reader (a server reloading on SIGHUP) sees the old ring or the new one, never a part.
    /// </summary>
    public void Save(string path)
    {
        var fullPath = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var bytes = Serialize();
        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>The ring in its file format (UTF-8 JSON, key material included).</summary>
    public byte[] Serialize()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("format", FormatName);
            json.WriteNumber("version", FormatVersion);
            json.WriteStartArray("keys");
            foreach (var key in Keys)
            {
                json.WriteStartObject();
                json.WriteNumber("id", key.Id);
                json.WriteString("state", RingKey.StateName(key.State));
                if (key.CreatedAt is { } created)
                {
                    json.WriteString("created", created.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
                }

                json.WriteString("fingerprint", key.Fingerprint);
                if (key.Key is { } material)
                {
                    json.WriteString("key", Convert.ToBase64String(material.Bytes));
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        var bytes = new byte[buffer.WrittenCount + 1];
        buffer.WrittenSpan.CopyTo(bytes);
        bytes[^1] = (byte)'\n';
        buffer.Clear();
        return bytes;
    }

    private static SealingKeyRing ParseJson(string text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            throw new SealingKeyException("The key ring is not valid JSON.");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String || format.GetString() != FormatName)
            {
                throw new SealingKeyException($"The key ring does not say \"format\": \"{FormatName}\".");
            }

            if (!root.TryGetProperty("version", out var version) || !version.TryGetInt32(out var number) || number != FormatVersion)
            {
                throw new SealingKeyException($"The key ring's version is not {FormatVersion}: it was written by another TokenGate version; use that version's tokengate key commands.");
            }

            if (!root.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
            {
                throw new SealingKeyException("The key ring has no \"keys\" array.");
            }

            var ring = new List<RingKey>();
            foreach (var entry in keys.EnumerateArray())
            {
                ring.Add(ParseKey(entry, ring.Count));
            }

            Check(ring);
            return new SealingKeyRing(ring);
        }
    }

    private static RingKey ParseKey(JsonElement entry, int index)
    {
        var where = $"key #{index + 1} of the ring";
        if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("id", out var idElement) || !idElement.TryGetByte(out var id))
        {
            throw new SealingKeyException($"The {where} has no id from 0 to 255.");
        }

        var state = entry.TryGetProperty("state", out var stateElement) && stateElement.ValueKind == JsonValueKind.String ? stateElement.GetString() switch
        {
            "active" => SealingKeyState.Active,
            "accepted" => SealingKeyState.Accepted,
            "retired" => SealingKeyState.Retired,
            _ => (SealingKeyState?)null,
        } : null;
        if (state is null)
        {
            throw new SealingKeyException($"The {where} has no state active, accepted or retired.");
        }

        DateTimeOffset? created = null;
        if (entry.TryGetProperty("created", out var createdElement))
        {
            if (createdElement.ValueKind != JsonValueKind.String || !DateTimeOffset.TryParse(createdElement.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                throw new SealingKeyException($"The {where} has a created time that is not an ISO 8601 time.");
            }

            created = parsed.ToUniversalTime();
        }

        var fingerprint = entry.TryGetProperty("fingerprint", out var fingerprintElement) && fingerprintElement.ValueKind == JsonValueKind.String ? fingerprintElement.GetString() : null;
        SealingKey? key = null;
        if (entry.TryGetProperty("key", out var keyElement))
        {
            key = keyElement.ValueKind == JsonValueKind.String ? SealingKey.FromBase64(keyElement.GetString()!) : throw new SealingKeyException($"The {where} has a key that is not a string.");
        }

        if (state == SealingKeyState.Retired ? key is not null : key is null)
        {
            throw new SealingKeyException(state == SealingKeyState.Retired ? $"The {where} is retired but still holds its key; remove \"key\"." : $"The {where} has no \"key\".");
        }

        if (key is not null && fingerprint is not null && !string.Equals(fingerprint, key.Fingerprint, StringComparison.OrdinalIgnoreCase))
        {
            throw new SealingKeyException($"The {where} has fingerprint {fingerprint}, but its key's is {key.Fingerprint}: the file was altered.");
        }

        if (key is null && (fingerprint is null || !IsFingerprint(fingerprint)))
        {
            throw new SealingKeyException($"The {where} has no fingerprint (8 hex digits).");
        }

        if (key is not null && id == 0)
        {
            throw new SealingKeyException($"The {where} has id 0, which is reserved; give it an id from 1 to 255.");
        }

        return new RingKey(id, state.Value, created, key?.Fingerprint ?? fingerprint!.ToLowerInvariant(), key);
    }

    private static void Check(List<RingKey> ring)
    {
        var active = ring.Count(k => k.State == SealingKeyState.Active);
        if (active != 1)
        {
            throw new SealingKeyException($"The key ring has {active} active keys; it must have exactly one.");
        }

        if (ring.Where(k => k.Key is not null).GroupBy(k => k.Id).FirstOrDefault(g => g.Count() > 1) is { } sameId)
        {
            throw new SealingKeyException($"The key ring holds two keys with id {sameId.Key}.");
        }

        if (ring.GroupBy(k => k.Fingerprint).FirstOrDefault(g => g.Count() > 1) is { } sameKey)
        {
            throw new SealingKeyException($"The key ring lists fingerprint {sameKey.Key} twice.");
        }
    }

    private static bool IsFingerprint(string text) => text.Length == 8 && text.All(char.IsAsciiHexDigit);

    private static DateTimeOffset Truncate(DateTimeOffset time) => DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());

    /// <summary>The ring as one log line: ids, states and fingerprints, never key material.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var key in Keys)
        {
            text.Append(text.Length == 0 ? string.Empty : ", ").Append(key);
        }

        return text.ToString();
    }
}
