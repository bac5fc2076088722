using System.Collections;
using Microsoft.Extensions.Configuration;

namespace TokenGate.Server.Hosting;

public static class TokenGateConfiguration
{
    public const string SectionName = "TokenGate";
    public const string EnvironmentPrefix = "TOKENGATE_";

    /// <summary>
    /// Adds <c>TOKENGATE_</c>-prefixed environment variables as keys of the <c>TokenGate</c> section, underscores dropped:
    /// <c>TOKENGATE_TOKEN_LIFETIME</c> sets <c>TokenGate:TokenLifetime</c> (configuration keys ignore case).
    /// </summary>
    public static IConfigurationBuilder AddTokenGateEnvironmentVariables(this IConfigurationBuilder builder, IDictionary? environment = null)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry entry in environment ?? Environment.GetEnvironmentVariables())
        {
            var name = (string)entry.Key;
            if (name.Length > EnvironmentPrefix.Length && name.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
            {
                values[$"{SectionName}:{name[EnvironmentPrefix.Length..].Replace("_", string.Empty, StringComparison.Ordinal)}"] = (string?)entry.Value;
            }
        }

        return builder.AddInMemoryCollection(values);
    }
}
