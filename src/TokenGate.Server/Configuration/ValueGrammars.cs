using System.Globalization;
using System.Net;
using TokenGate.Configuration;

namespace TokenGate.Server.Configuration;

/// <summary>The kinds of setting values; durations and networks are Core's grammar, shared with the handler.</summary>
public static class ValueGrammars
{
    public static readonly ValueGrammar<string?> Text = new((string text, out string? value) => (value = text) is not null, "is not text");

    public static readonly ValueGrammar<TimeSpan> Duration = new(Durations.TryParse, $"is not a duration; {Durations.Examples}", Durations.Format, Durations.Describe);

    public static readonly ValueGrammar<int> WholeNumber = new(
        (string text, out int value) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value),
        "is not a whole number");

    public static readonly ValueGrammar<bool> Boolean = new(bool.TryParse, "must be true or false", value => value ? "true" : "false");

    public static readonly ValueGrammar<Uri?> HttpUrl = new(
        (string text, out Uri? value) => Uri.TryCreate(text, UriKind.Absolute, out value) && value.Scheme is "http" or "https",
        "is not an http:// or https:// URL");

    /// <summary>Where Kestrel listens: http:// or https:// addresses with a port of 0-65535 (0 picks a free one), ';'-separated.</summary>
    public static readonly ValueGrammar<string?> ListenUrls = new(
        (string text, out string? value) => (value = text.Split(';', ',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } urls && urls.All(IsListenUrl) ? text : null) is not null,
        "is not where to listen; use http://HOST:PORT or https://HOST:PORT with a port of 0-65535 (0 picks a free one), ';'-separated, e.g. http://127.0.0.1:5080");

    public static readonly ValueGrammar<IPNetwork> Network = new(Networks.TryParse, $"is not {Networks.Expected}");

    /// <summary>A trusted proxy: a <see cref="Network"/>, or <c>unix</c> for every peer on a Unix socket (read as <see cref="UnixSocketPeers"/>).</summary>
    public static readonly ValueGrammar<IPNetwork> ProxyNetwork = new(
        (string text, out IPNetwork value) =>
        {
            if (string.Equals(text, "unix", StringComparison.OrdinalIgnoreCase))
            {
                value = UnixSocketPeers;
                return true;
            }

            // ::/128 written out would be read as unix; no peer has the unspecified address, so it is refused rather than widened.
            return Networks.TryParse(text, out value) && value != UnixSocketPeers;
        },
        $"is not {Networks.Expected}, or unix (every peer on a Unix socket)");

    /// <summary>Stands for <c>unix</c> in a list of trusted proxies: <c>::/128</c>, the unspecified address, which no peer has.</summary>
    public static readonly IPNetwork UnixSocketPeers = new(IPAddress.IPv6None, 128);

    private static bool IsListenUrl(string url)
    {
        try
        {
            var address = Microsoft.AspNetCore.Http.BindingAddress.Parse(url);
            return address.Scheme is "http" or "https" && (address.IsNamedPipe || address.IsUnixPipe || address.Port is >= 0 and <= 65535) && address.Host.Length > 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>One of <paramref name="choices"/>, any case; the value is the choice as written here.</summary>
    public static ValueGrammar<string?> Choice(params string[] choices) => new(
        (string text, out string? value) => (value = choices.FirstOrDefault(choice => string.Equals(choice, text, StringComparison.OrdinalIgnoreCase))) is not null,
        $"must be one of {string.Join(", ", choices)}");
}
