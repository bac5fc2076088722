using System.Globalization;
using System.Text.Json;
using System.Xml;

namespace TokenGate.Client.Protocol;

/// <summary>
/// One token API body, JSON or XML, read leniently: the vendor's own samples are pretty-printed, carry comments, and show the
/// XML fields without their <c>&lt;result&gt;</c> root; PHP code may send <c>"1"</c> for true or a number as a string. Unknown
/// fields are skipped. The format is told from the first character, so an answer in the other format than the one asked for is
/// still read.
/// </summary>
internal readonly record struct ContractReply(bool? Success, string? Token, long? Expire, string? Error)
{
    private const int MaxXmlCharacters = 64 * 1024;

    private static readonly JsonReaderOptions JsonOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 16,
    };

    private static readonly XmlReaderSettings XmlSettings = new()
    {
        ConformanceLevel = ConformanceLevel.Fragment,
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = true,
        MaxCharactersInDocument = MaxXmlCharacters,
        CloseInput = true,
    };

    /// <summary>A body that says whether the call succeeded: what the token API always sends.</summary>
    public bool IsContractBody => Success is not null;

    /// <summary>Reads a JSON or XML body. False when it is neither, or holds none of the contract's fields.</summary>
    public static bool TryParse(ReadOnlySpan<byte> body, out ContractReply reply)
    {
        reply = default;
        var start = SkipPreamble(body);
        if (start >= body.Length)
        {
            return false;
        }

        return body[start] switch
        {
            (byte)'{' => TryParseJson(body[start..], out reply),
            (byte)'<' => TryParseXml(body[start..], out reply),
            _ => false,
        };
    }

    /// <summary>Skips a UTF-8 byte order mark and white space.</summary>
    private static int SkipPreamble(ReadOnlySpan<byte> body)
    {
        var i = body.StartsWith("\uFEFF"u8) ? 3 : 0;
        while (i < body.Length && body[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            i++;
        }

        return i;
    }

    private static bool TryParseJson(ReadOnlySpan<byte> json, out ContractReply reply)
    {
        reply = default;
        var fields = default(Fields);
        try
        {
            var reader = new Utf8JsonReader(json, JsonOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                if (!reader.Read())
                {
                    return false;
                }

                switch (name)
                {
                    case "success":
                        fields.Success = JsonBoolean(ref reader);
                        break;
                    case "token":
                        fields.Token = JsonString(ref reader);
                        break;
                    case "expire":
                        fields.Expire = JsonInt64(ref reader);
                        break;
                    case "error":
                        fields.Error = JsonString(ref reader);
                        break;
                    default:
                        reader.Skip();
                        continue;
                }

                fields.Found = true;
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                return false;
            }
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException)
        {
            return false;
        }

        reply = new ContractReply(fields.Success, fields.Token, fields.Expire, fields.Error);
        return fields.Found;
    }

    private static bool? JsonBoolean(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.Number when reader.TryGetInt64(out var number) => number != 0,
        JsonTokenType.String => TextBoolean(reader.GetString()),
        _ => null,
    };

    private static string? JsonString(ref Utf8JsonReader reader) => reader.TokenType == JsonTokenType.String ? reader.GetString() : null;

    private static long? JsonInt64(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number when reader.TryGetInt64(out var number) => number,
        JsonTokenType.String => TextInt64(reader.GetString()),
        _ => null,
    };

    private static bool TryParseXml(ReadOnlySpan<byte> xml, out ContractReply reply)
    {
        reply = default;
        var fields = default(Fields);
        try
        {
            using var reader = XmlReader.Create(new MemoryStream(xml.ToArray(), writable: false), XmlSettings);
            reader.MoveToContent();
            var fieldDepth = IsField(reader.LocalName) ? 0 : 1;
            while (!reader.EOF)
            {
                if (reader.NodeType == XmlNodeType.Element && reader.Depth == fieldDepth && IsField(reader.LocalName))
                {
                    var name = reader.LocalName;
                    var value = reader.ReadElementContentAsString().Trim();
                    fields.Found = true;
                    switch (name)
                    {
                        case "success":
                            fields.Success = TextBoolean(value);
                            break;
                        case "token":
                            fields.Token = value;
                            break;
                        case "expire":
                            fields.Expire = TextInt64(value);
                            break;
                        default:
                            fields.Error = value;
                            break;
                    }
                }
                else if (reader.NodeType == XmlNodeType.Element && reader.Depth >= fieldDepth)
                {
                    reader.Skip();
                }
                else
                {
                    reader.Read();
                }
            }
        }
        catch (Exception exception) when (exception is XmlException or InvalidOperationException)
        {
            return false;
        }

        reply = new ContractReply(fields.Success, fields.Token, fields.Expire, fields.Error);
        return fields.Found;
    }

    /// <summary>A reply's fields as a parser meets them, and whether it met any.</summary>
    private struct Fields
    {
        public bool? Success;
        public string? Token;
        public long? Expire;
        public string? Error;
        public bool Found;
    }

    private static bool IsField(string name) => name is "success" or "token" or "expire" or "error";

    private static bool? TextBoolean(string? text) => text?.Trim() switch
    {
        "1" => true,
        "0" => false,
        { } value when value.Equals("true", StringComparison.OrdinalIgnoreCase) => true,
        { } value when value.Equals("false", StringComparison.OrdinalIgnoreCase) => false,
        _ => null,
    };

    private static long? TextInt64(string? text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;
}
