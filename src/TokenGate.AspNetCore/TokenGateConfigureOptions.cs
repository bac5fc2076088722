using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using TokenGate.Configuration;

namespace TokenGate.AspNetCore;

/// <summary>
/// Binds a scheme's options from <c>Authentication:Schemes:{scheme}</c>, as JwtBearer does. Durations and trusted proxies are
/// read with the server's grammar (<see cref="Durations"/>: <c>30</c>, <c>2.5</c>, <c>12h</c>, <c>00:00:30</c>;
/// <see cref="Networks"/>: an array or a comma-separated list of addresses and CIDR ranges), so one value means the same in
/// both. A value that cannot be read fails with the key's name. <c>ExpiredRetention</c>, <c>KeyFile</c> and <c>SealingKey</c> not set
/// in the scheme's section are the server's own settings, read where the server reads them.
/// </summary>
internal sealed class TokenGateConfigureOptions(IAuthenticationConfigurationProvider configuration, IConfiguration? root = null) : IConfigureNamedOptions<TokenGateOptions>
{
    /// <summary>The server's key for its expired-token retention, and the environment variable it reads as that key (which wins
    /// over appsettings.json there, so here too).</summary>
    internal const string ServerExpiredRetentionKey = "TokenGate:ExpiredRetention";
    internal const string ServerExpiredRetentionVariable = "TOKENGATE_EXPIRED_RETENTION";

    /// <summary>The server's key file and key, read where the server reads them.</summary>
    internal const string ServerKeyFileKey = "TokenGate:KeyFile";
    internal const string ServerKeyFileVariable = "TOKENGATE_KEY_FILE";
    internal const string ServerSealingKeyKey = "TokenGate:SealingKey";
    internal const string ServerSealingKeyVariable = "TOKENGATE_SEALING_KEY";

    public void Configure(TokenGateOptions options) => Configure(Options.DefaultName, options);

    public void Configure(string? name, TokenGateOptions options)
    {
        if (string.IsNullOrEmpty(name))
        {
            return;
        }

        var section = new Source(configuration.GetSchemeConfiguration(name), $"Authentication:Schemes:{name}");
        options.ExpiredRetention = section.Read(nameof(options.ExpiredRetention), ServerExpiredRetention(options.ExpiredRetention), Duration);
        options.KeyFile = section[nameof(options.KeyFile)] ?? ServerSetting(ServerKeyFileVariable, ServerKeyFileKey) ?? options.KeyFile;
        options.SealingKey = section[nameof(options.SealingKey)] ?? ServerSetting(ServerSealingKeyVariable, ServerSealingKeyKey) ?? options.SealingKey;
        if (!section.Configuration.GetChildren().Any())
        {
            return;
        }

        options.Mode = section.Read(nameof(options.Mode), options.Mode, Enumeration<TokenGateMode>);
        options.Database = section[nameof(options.Database)] ?? options.Database;
        options.Authority = section.ReadUri(nameof(options.Authority), options.Authority);
        options.IntrospectionEndpoint = section.ReadUri(nameof(options.IntrospectionEndpoint), options.IntrospectionEndpoint);
        options.ClientId = section[nameof(options.ClientId)] ?? options.ClientId;
        options.ClientSecret = section[nameof(options.ClientSecret)] ?? options.ClientSecret;
        options.IntrospectionCacheDuration = section.Read(nameof(options.IntrospectionCacheDuration), options.IntrospectionCacheDuration, Duration);
        options.NegativeCacheDuration = section.Read(nameof(options.NegativeCacheDuration), options.NegativeCacheDuration, Duration);
        options.MaxCachedIntrospections = section.Read(nameof(options.MaxCachedIntrospections), options.MaxCachedIntrospections, WholeNumber);
        options.BackchannelTimeout = section.Read(nameof(options.BackchannelTimeout), options.BackchannelTimeout, Duration);
        options.RequireHttpsAuthority = section.Read(nameof(options.RequireHttpsAuthority), options.RequireHttpsAuthority, Boolean);
        options.ReadTokenFromQuery = section.Read(nameof(options.ReadTokenFromQuery), options.ReadTokenFromQuery, Boolean);
        options.ReadTokenFromForm = section.Read(nameof(options.ReadTokenFromForm), options.ReadTokenFromForm, Boolean);
        options.IncludeErrorDetails = section.Read(nameof(options.IncludeErrorDetails), options.IncludeErrorDetails, Boolean);
        options.Challenge = section[nameof(options.Challenge)] ?? options.Challenge;
        options.FailureStyle = section.Read(nameof(options.FailureStyle), options.FailureStyle, Enumeration<TokenGateFailureStyle>);
        options.ClaimsIssuer = section[nameof(options.ClaimsIssuer)] ?? options.ClaimsIssuer;
        options.ForwardDefault = section[nameof(options.ForwardDefault)] ?? options.ForwardDefault;
        options.ForwardAuthenticate = section[nameof(options.ForwardAuthenticate)] ?? options.ForwardAuthenticate;
        options.ForwardChallenge = section[nameof(options.ForwardChallenge)] ?? options.ForwardChallenge;
        options.ForwardForbid = section[nameof(options.ForwardForbid)] ?? options.ForwardForbid;

        var proxies = section.Configuration.GetSection(nameof(options.TrustedProxies));
        foreach (var entry in Networks.Entries(proxies.Value, proxies.GetChildren().Select(child => child.Value)))
        {
            options.TrustedProxies.Add(Networks.TryParse(entry, out var network)
                ? network
                : throw section.Invalid(nameof(options.TrustedProxies), entry, Networks.Expected));
        }
    }

    /// <summary>A setting of the server's, from its environment variable (which wins there) or its configuration key; null when unset.</summary>
    private string? ServerSetting(string variable, string key) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : root?[key] is { Length: > 0 } configured ? configured : null;

    /// <summary>The server's <c>ExpiredRetention</c>, if this application's environment or configuration has it.</summary>
    private TimeSpan ServerExpiredRetention(TimeSpan fallback)
    {
        var (name, text) = Environment.GetEnvironmentVariable(ServerExpiredRetentionVariable) is { Length: > 0 } variable
            ? (ServerExpiredRetentionVariable, variable)
            : (ServerExpiredRetentionKey, root?[ServerExpiredRetentionKey]);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        var (parsed, value) = Duration(text.Trim());
        return parsed ? value : throw new InvalidOperationException($"{name}: '{text}' is not a duration (seconds, or with a unit: 90s, 15m, 12h, 7d).");
    }

    private static (bool, TimeSpan) Duration(string text) => (Durations.TryParse(text, out var duration), duration);

    private static (bool, int) WholeNumber(string text) => (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value), value);

    private static (bool, bool) Boolean(string text) => (bool.TryParse(text, out var value), value);

    private static (bool, T) Enumeration<T>(string text)
        where T : struct, Enum => (Enum.TryParse<T>(text, ignoreCase: true, out var value) && Enum.IsDefined(value), value);

    /// <summary>A scheme's configuration section and its path, for messages that name the key.</summary>
    private readonly record struct Source(IConfiguration Configuration, string Path)
    {
        public string? this[string key] => Configuration[key];

        public T Read<T>(string key, T fallback, Func<string, (bool Parsed, T Value)> parse)
        {
            var text = Configuration[key];
            if (string.IsNullOrWhiteSpace(text))
            {
                return fallback;
            }

            var (parsed, value) = parse(text.Trim());
            return parsed ? value : throw Invalid(key, text, Expected<T>());
        }

        public Uri? ReadUri(string key, Uri? fallback) =>
            Read(key, fallback, text => (Uri.TryCreate(text, UriKind.Absolute, out var uri), uri));

        public InvalidOperationException Invalid(string key, string text, string expected) => new($"{Path}:{key}: '{text}' is not {expected}.");

        private static string Expected<T>() => typeof(T) == typeof(bool) ? "true or false"
            : typeof(T) == typeof(TimeSpan) ? "a duration (seconds, or hh:mm:ss)"
            : typeof(T) == typeof(int) ? "a whole number"
            : typeof(T) == typeof(Uri) ? "an absolute URL"
            : $"one of {string.Join(", ", Enum.GetNames(typeof(T)))}";
    }
}
