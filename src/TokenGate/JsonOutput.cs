using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TokenGate.Cli;

/// <summary>
/// <c>--json</c> for the listing commands (account list, token list, audit): one JSON array of objects on standard output,
/// times as ISO 8601 UTC strings, an empty array when there is nothing to list. Field names are camelCase and stable.
/// </summary>
internal static class JsonOutput
{
    public static Option<bool> CreateOption() => new("--json") { Description = "Write a JSON array of objects instead of a table (times as ISO 8601 UTC)." };

    public static string Time(long unixSeconds) =>
        DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'", CultureInfo.InvariantCulture);

    public static async Task WriteAsync<T>(TextWriter output, IEnumerable<T> items, Action<Utf8JsonWriter, T> writeFields)
    {
        using var buffer = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartArray();
            foreach (var item in items)
            {
                writer.WriteStartObject();
                writeFields(writer, item);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        await output.WriteLineAsync(Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
