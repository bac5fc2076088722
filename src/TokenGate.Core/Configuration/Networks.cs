using System.Net;
using System.Net.Sockets;
using TokenGate.Tokens;

namespace TokenGate.Configuration;

/// <summary>The one grammar of trusted-proxy entries, shared by the server and the authentication handler.</summary>
public static class Networks
{
    /// <summary>What an entry may be, for messages that refuse one.</summary>
    public const string Expected = "an IP address or CIDR range (10.0.0.5, 10.0.0.0/8, fd00::/8)";

    /// <summary>An IP address (a network of one) or a CIDR range. The address is read as token addresses are (strict dotted
    /// quads: <c>127.1</c> and <c>010.0.0.1</c> are refused).</summary>
    public static bool TryParse(string text, out IPNetwork network)
    {
        if (text.Contains('/', StringComparison.Ordinal))
        {
            return IPNetwork.TryParse(text, out network);
        }

        var parsed = AddressSet.TryParseAddress(text, out var address);
        network = parsed ? new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128) : default;
        return parsed;
    }

    /// <summary>The entries of a list setting: a comma-separated value and/or the children of an array.</summary>
    public static IEnumerable<string> Entries(string? commaSeparated, IEnumerable<string?> array) =>
        (commaSeparated ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(array.Select(entry => entry?.Trim()).OfType<string>())
            .Where(entry => entry.Length > 0);
}
