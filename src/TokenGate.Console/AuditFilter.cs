using System.Globalization;

namespace TokenGate.OperatorConsole;

/// <summary>
/// The audit page's filters as the query string carries them (<c>account</c>, <c>action</c>, <c>outcome</c>, <c>address</c>,
/// <c>from</c>, <c>to</c> as UTC <c>yyyy-MM-ddTHH:mm</c> or a date, <c>before</c> an entry id), read without ever throwing:
/// what cannot be read is named in <see cref="Errors"/> and left out of the query.
/// </summary>
public sealed record AuditFilter(string? Account, string? Action, string? Outcome, string? Address, string? From, string? To, string? Before)
{
    public const int PageSize = 50;

    public const int ExportLimit = 100_000;

    private static readonly string[] TimeFormats = ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"];

    public static AuditFilter FromQuery(IQueryCollection query) =>
        new(Text(query, "account"), Text(query, "action"), Text(query, "outcome"), Text(query, "address"), Text(query, "from"), Text(query, "to"), Text(query, "before"));

    public IReadOnlyList<string> Errors
    {
        get
        {
            var errors = new List<string>();
            if (From is not null && ParseTime(From) is null)
            {
                errors.Add($"'From' is not a time: use YYYY-MM-DDTHH:MM (UTC), e.g. 2026-12-06T08:00.");
            }

            if (To is not null && ParseTime(To) is null)
            {
                errors.Add($"'To' is not a time: use YYYY-MM-DDTHH:MM (UTC), e.g. 2026-12-06T09:00.");
            }

            if (Before is not null && !long.TryParse(Before, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                errors.Add("The page link is broken ('before' is not an entry id); start again from the first page.");
            }

            return errors;
        }
    }

    public AuditQuery Query(int limit) => new(
        Account, Action, Outcome, Address, ParseTime(From), ParseTime(To),
        Before is not null && long.TryParse(Before, NumberStyles.None, CultureInfo.InvariantCulture, out var before) ? before : null,
        limit);

    /// <summary>The query string of these filters (without <c>before</c>), for links to the next page and the export.</summary>
    public string QueryString(long? before = null)
    {
        var parts = new List<string>();
        Add(parts, "account", Account);
        Add(parts, "action", Action);
        Add(parts, "outcome", Outcome);
        Add(parts, "address", Address);
        Add(parts, "from", From);
        Add(parts, "to", To);
        if (before is { } id)
        {
            Add(parts, "before", id.ToString(CultureInfo.InvariantCulture));
        }

        return parts.Count == 0 ? string.Empty : "?" + string.Join('&', parts);
    }

    public static long? ParseTime(string? text) =>
        text is not null && DateTime.TryParseExact(text, TimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? new DateTimeOffset(time, TimeSpan.Zero).ToUnixTimeSeconds()
            : null;

    private static void Add(List<string> parts, string name, string? value)
    {
        if (value is not null)
        {
            parts.Add(name + "=" + Uri.EscapeDataString(value));
        }
    }

    private static string? Text(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) && values.Count > 0 && values[0] is { } value && !string.IsNullOrWhiteSpace(value) && value.Length <= 256 ? value.Trim() : null;
}
