using Microsoft.Extensions.DependencyInjection;

namespace TokenGate.Server.Operations;

/// <summary>
/// Silences the framework log categories that would write a request's query string, and so a password or token sent the
/// ContactNow way (<c>?password=...</c>, <c>?token=...</c>): ASP.NET Core's "Request starting GET /token.php?..." lines,
/// Kestrel's bad-request messages (they quote the request line) and HTTP logging. The rule is added per logging provider after
/// all configuration has been read, so that no <c>Logging</c> setting, even a provider-specific one, can turn them back on.
/// TokenGate's own request log (which redacts) replaces them.
/// </summary>
public static class SecretSafeLogging
{
    public static readonly IReadOnlyList<string> SilencedCategories =
    [
        "Microsoft.AspNetCore.Hosting.Diagnostics",
        "Microsoft.AspNetCore.Server.Kestrel.BadRequests",
        "Microsoft.AspNetCore.HttpLogging",
        "Microsoft.AspNetCore.W3CLogging",
    ];

    public static ILoggingBuilder SilenceSecretBearingCategories(this ILoggingBuilder logging)
    {
        logging.Services.PostConfigure<LoggerFilterOptions>(options =>
        {
            var providers = options.Rules.Select(rule => rule.ProviderName).Distinct().ToList();
            if (!providers.Contains(null))
            {
                providers.Add(null);
            }

            foreach (var provider in providers)
            {
                foreach (var category in SilencedCategories)
                {
                    options.Rules.Add(new LoggerFilterRule(provider, category, LogLevel.None, filter: null));
                }
            }
        });
        return logging;
    }
}
