using System.Globalization;
using System.Text;

namespace TokenGate.OperatorConsole;

/// <summary>
/// The audit page's CSV export (RFC 4180: comma-separated, CRLF, every field quoted when it holds a comma, a quote, CR or LF,
/// quotes doubled). A field a spreadsheet would take for a formula (starting with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, tab or
/// CR) gets a leading apostrophe (OWASP's guard against CSV injection): account names and addresses come from callers.
/// </summary>
public static class AuditCsv
{
    public const string Header = "id,time_utc,account,address,action,outcome,token_id,operator";

    public static string Line(AuditRecord record)
    {
        var entry = record.Entry;
        var builder = new StringBuilder();
        Append(builder, record.Id.ToString(CultureInfo.InvariantCulture));
        Append(builder, DateTimeOffset.FromUnixTimeSeconds(entry.At).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        Append(builder, entry.Account);
        Append(builder, entry.Client);
        Append(builder, entry.Action);
        Append(builder, entry.Outcome);
        Append(builder, entry.TokenId);
        Append(builder, entry.Operator);
        return builder.ToString(1, builder.Length - 1);
    }

    /// <summary>One field, guarded and quoted as needed, after a comma.</summary>
    public static string Field(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    private static void Append(StringBuilder builder, string? value) => builder.Append(',').Append(Field(value));
}
