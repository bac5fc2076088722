using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace TokenGate.Contract;

public enum ContractFormat
{
    Json,
    Xml,
}

public static class ContractFormats
{
    /// <summary>json (the default) or xml, ignoring case. Anything else is answered in JSON, and <paramref name="known"/> is false.</summary>
    public static ContractFormat Parse(string? text, out bool known)
    {
        known = true;
        if (string.IsNullOrEmpty(text) || string.Equals(text, "json", StringComparison.OrdinalIgnoreCase))
        {
            return ContractFormat.Json;
        }

        if (string.Equals(text, "xml", StringComparison.OrdinalIgnoreCase))
        {
            return ContractFormat.Xml;
        }

        known = false;
        return ContractFormat.Json;
    }
}

/// <summary>
/// One body of the token API. Fields are written in the order ContactNow writes them: <c>success</c>, then <c>token</c> and
/// <c>expire</c> on success, or <c>error</c> and then <c>expire</c> (only <c>-1</c>, for an expired token) on failure.
/// </summary>
public readonly record struct ContractResponse(bool Success, string? Token = null, long? Expire = null, string? Error = null, int StatusCode = 200)
{
    public const string JsonContentType = "application/json; charset=utf-8";
    public const string XmlContentType = "application/xml; charset=utf-8";

    /// <summary><c>Expired token</c>, with the <c>"expire":-1</c> that only this error carries.</summary>
    public static readonly ContractResponse Expired = new(false, Error: ContractErrors.ExpiredToken, Expire: -1);

    public static ContractResponse Failure(string error, int statusCode = 200) => new(false, Error: error, StatusCode: statusCode);

    /// <summary>The answer of <c>validate</c> (and the failures of <c>delete</c> and <c>newpass</c>) for a token's status.</summary>
    public static ContractResponse ForToken(TokenStatus status, long? expire) => status switch
    {
        TokenStatus.Valid => new ContractResponse(true, Expire: expire),
        TokenStatus.Expired => Expired,
        _ => Failure(ContractErrors.InvalidToken),
    };

    public static string ContentType(ContractFormat format) => format == ContractFormat.Xml ? XmlContentType : JsonContentType;

    /// <summary>Writes the body as UTF-8 into <paramref name="output"/>.</summary>
    public void Render(ContractFormat format, IBufferWriter<byte> output)
    {
        if (format == ContractFormat.Xml)
        {
            RenderXml(output);
        }
        else
        {
            RenderJson(output);
        }
    }

    private void RenderJson(IBufferWriter<byte> output)
    {
        Write(output, Success ? "{\"success\":true"u8 : "{\"success\":false"u8);
        if (Success)
        {
            if (Token is not null)
            {
                Write(output, ",\"token\":\""u8);
                WriteEscaped(output, Token, xml: false);
                Write(output, "\""u8);
            }

            WriteNumberField(output, ",\"expire\":"u8, ReadOnlySpan<byte>.Empty);
        }
        else
        {
            if (Error is not null)
            {
                Write(output, ",\"error\":\""u8);
                WriteEscaped(output, Error, xml: false);
                Write(output, "\""u8);
            }

            WriteNumberField(output, ",\"expire\":"u8, ReadOnlySpan<byte>.Empty);
        }

        Write(output, "}"u8);
    }

    private void RenderXml(IBufferWriter<byte> output)
    {
        Write(output, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<result>"u8);
        Write(output, Success ? "<success>1</success>"u8 : "<success>0</success>"u8);
        if (Success && Token is not null)
        {
            Write(output, "<token>"u8);
            WriteEscaped(output, Token, xml: true);
            Write(output, "</token>"u8);
        }

        if (!Success && Error is not null)
        {
            Write(output, "<error>"u8);
            WriteEscaped(output, Error, xml: true);
            Write(output, "</error>"u8);
        }

        WriteNumberField(output, "<expire>"u8, "</expire>"u8);
        Write(output, "</result>"u8);
    }

    private void WriteNumberField(IBufferWriter<byte> output, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> suffix)
    {
        if (Expire is not { } expire)
        {
            return;
        }

        Write(output, prefix);
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(expire, span, out var written);
        output.Advance(written);
        Write(output, suffix);
    }

    private static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => output.Write(bytes);

    private static void WriteEscaped(IBufferWriter<byte> output, string text, bool xml)
    {
        foreach (var c in text)
        {
            ReadOnlySpan<byte> escaped = c switch
            {
                '"' when !xml => "\\\""u8,
                '\\' when !xml => "\\\\"u8,
                '&' when xml => "&amp;"u8,
                '<' when xml => "&lt;"u8,
                '>' when xml => "&gt;"u8,
                _ => default,
            };

            if (!escaped.IsEmpty)
            {
                Write(output, escaped);
            }
            else if (c < 0x20)
            {
                // No body text of ours holds control characters; never emit one raw.
                Write(output, "?"u8);
            }
            else
            {
                Span<char> one = [c];
                var span = output.GetSpan(4);
                output.Advance(Encoding.UTF8.GetBytes(one, span));
            }
        }
    }
}
