using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;

namespace TokenGate.Server.Configuration;

/// <summary>
/// Where the values of the <c>TokenGate</c> section come from: for each setting the source that wins (a file such as
/// appsettings.json, the environment, a command-line option, or the default), and the keys no setting reads (a misspelling
/// would otherwise be ignored without a word).
/// </summary>
public static class SettingSources
{
    public const string Default = "default";
    public const string Environment = "environment";
    public const string CommandLine = "option";

    /// <summary>The source that gives <paramref name="setting"/> its value, the last one that sets it; <see cref="Default"/> when none does.</summary>
    public static string Of(IConfigurationRoot configuration, TokenGateSetting setting) =>
        Provider(configuration, setting) is { } provider ? Name(provider) : Default;

    /// <summary>
    /// The name of <paramref name="setting"/> as the operator gave it, for an error about its value: the variable they set
    /// (<c>TOKENGATE_MAXCONNECTIONS</c> as well as <c>TOKENGATE_MAX_CONNECTIONS</c>), the file (<c>appsettings.json</c>), or else
    /// the option (<see cref="TokenGateSetting.Name"/>).
    /// </summary>
    public static string GivenAs(IConfigurationRoot configuration, TokenGateSetting setting) => Provider(configuration, setting) switch
    {
        TokenGateEnvironmentProvider environment => Keys(setting)
            .Select(key => environment.TryGet($"{TokenGateConfiguration.SectionName}:{key}", out _) || environment.GetChildKeys([], $"{TokenGateConfiguration.SectionName}:{key}").Any()
                ? environment.Source.Variables.GetValueOrDefault(key)
                : null)
            .FirstOrDefault(variable => variable is not null) ?? setting.EnvironmentVariable,
        EnvironmentVariablesConfigurationProvider => setting.EnvironmentVariable,
        JsonConfigurationProvider json => Name(json),
        _ => setting.Name,
    };

    /// <summary>
    /// Rewrites the errors of <see cref="TokenGateSetting.Error"/> (which name a setting by its option, else its canonical
    /// variable) to name it as the operator gave it (<see cref="GivenAs"/>).
    /// </summary>
    public static IReadOnlyList<string> NameAsGiven(IConfigurationRoot configuration, IReadOnlyList<string> errors) =>
        errors.Select(error => TokenGateSettingsTable.All.FirstOrDefault(setting => error.StartsWith(ErrorPrefix(setting), StringComparison.Ordinal)) is { } setting
                ? $"{GivenAs(configuration, setting)} ({setting.Path}): {error[ErrorPrefix(setting).Length..]}"
                : error)
            .ToList();

    private static string ErrorPrefix(TokenGateSetting setting) => $"{setting.Name} ({setting.Path}): ";

    private static IEnumerable<string> Keys(TokenGateSetting setting) => setting is IListSetting list ? [setting.Key, list.ArrayKey] : [setting.Key];

    /// <summary>The last provider that gives <paramref name="setting"/> a value (under either spelling of a list), if any.</summary>
    private static IConfigurationProvider? Provider(IConfigurationRoot configuration, TokenGateSetting setting) =>
        configuration.Providers.Reverse().FirstOrDefault(provider => Keys(setting).Any(key =>
            (provider.TryGet($"{TokenGateConfiguration.SectionName}:{key}", out var value) && value is not null)
            || provider.GetChildKeys([], $"{TokenGateConfiguration.SectionName}:{key}").Any()));

    /// <summary>One warning per key of the <c>TokenGate</c> section that no setting reads, with the nearest known key.</summary>
    public static IReadOnlyList<string> UnknownKeyWarnings(IConfigurationRoot configuration)
    {
        var known = TokenGateSettingsTable.All
            .SelectMany(setting => setting is IListSetting list ? new[] { setting.Key, list.ArrayKey } : [setting.Key])
            .ToList();
        var warnings = new List<string>();
        foreach (var provider in configuration.Providers)
        {
            foreach (var key in provider.GetChildKeys([], TokenGateConfiguration.SectionName).Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (known.Contains(key, StringComparer.OrdinalIgnoreCase))
                {
                    continue;
                }

                var nearest = Nearest(key, known);
                if (provider is TokenGateEnvironmentProvider environment)
                {
                    var variable = environment.Source.Variables.GetValueOrDefault(key, key);
                    var suggestion = nearest is null ? null : TokenGateSettingsTable.All.FirstOrDefault(s => s.Key == nearest)?.EnvironmentVariable ?? nearest;
                    warnings.Add(Warning(Environment, variable, suggestion));
                }
                else
                {
                    warnings.Add(Warning(Name(provider), $"{TokenGateConfiguration.SectionName}:{key}", nearest));
                }
            }
        }

        return warnings;
    }

    /// <summary>The known key closest to <paramref name="key"/> by edit distance (ignoring case), if it is close enough to be a slip.</summary>
    public static string? Nearest(string key, IEnumerable<string> known)
    {
        var best = known
            .Select(candidate => (Candidate: candidate, Distance: EditDistance(key.ToUpperInvariant(), candidate.ToUpperInvariant())))
            .OrderBy(pair => pair.Distance)
            .FirstOrDefault();
        return best.Candidate is not null && best.Distance <= Math.Max(2, key.Length / 3) ? best.Candidate : null;
    }

    /// <summary>Levenshtein distance: insertions, deletions and substitutions.</summary>
    public static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        var current = new int[b.Length + 1];
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static string Warning(string source, string key, string? nearest) =>
        nearest is null
            ? $"{source}: unknown setting {key}; it is ignored."
            : $"{source}: unknown setting {key}; did you mean {nearest}?";

    private static string Name(IConfigurationProvider provider) => provider switch
    {
        JsonConfigurationProvider json => Path.GetFileName(json.Source.Path) ?? "a JSON file",
        TokenGateEnvironmentProvider or EnvironmentVariablesConfigurationProvider => Environment,
        _ => CommandLine,
    };
}
