using TokenGate.Server.Configuration;

namespace TokenGate.Cli;

/// <summary>Command-line options made from the settings table: name, placeholder and help (with the default and the variable).</summary>
internal static class SettingOptions
{
    public static Option Create(TokenGateSetting setting)
    {
        var name = setting.Option ?? throw new ArgumentException($"{setting.Key} has no command-line option.", nameof(setting));
        return setting switch
        {
            { IsFlag: true } => new Option<bool>(name) { Description = setting.Description },
            { IsList: true } => new Option<string[]>(name) { Description = setting.Description, HelpName = setting.HelpName, AllowMultipleArgumentsPerToken = false },
            _ => new Option<string?>(name) { Description = setting.Description, HelpName = setting.HelpName },
        };
    }

    /// <summary>The configuration values these options were given on this command line: a command-line value wins over the
    /// environment and appsettings.json. A switch sets <c>true</c>; a repeated option, its values comma-separated.</summary>
    public static List<KeyValuePair<string, string?>> Overrides(ParseResult parse, IEnumerable<(TokenGateSetting Setting, Option Option)> options)
    {
        var overrides = new List<KeyValuePair<string, string?>>();
        foreach (var (setting, option) in options)
        {
            var value = option switch
            {
                Option<bool> flag => parse.GetValue(flag) ? "true" : null,
                Option<string[]> list => parse.GetValue(list) is { Length: > 0 } values ? string.Join(',', values) : null,
                Option<string?> text => parse.GetValue(text),
                _ => null,
            };
            if (value is not null)
            {
                overrides.Add(new(setting.Path, value));
            }
        }

        return overrides;
    }
}
