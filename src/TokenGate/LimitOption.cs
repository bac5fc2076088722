using System.CommandLine.Parsing;
using System.Globalization;

namespace TokenGate.Cli;

/// <summary>
/// <c>--limit N</c> of the listing commands: a whole number of 1 or more. Anything else (<c>abc</c>, <c>0</c>, <c>-5</c>) is
/// refused as bad usage (exit 1) with a message that says what to give, instead of the parser's type name or a silent one row.
/// </summary>
internal static class LimitOption
{
    public static Option<int> Create(string description, int defaultValue) => new("--limit")
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var limit) && limit > 0)
            {
                return limit;
            }

            result.AddError($"--limit: '{text}' is not a number of rows; give a whole number of 1 or more, e.g. --limit {defaultValue}.");
            return defaultValue;
        },
    };
}
