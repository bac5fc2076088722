using System.Net;
using System.Net.Sockets;
using TokenGate.Tokens;

namespace TokenGate.Configuration;

/// <summary>The one grammar of trusted-proxy entries, shared by the server and the authentication handler.</summary>
public static class Networks
{
    /// <summary>What an entry may be, for messages that refuse one.</summary>
    public const string Expected = "an IP address or CIDR range (10.0.0.5, 10.0.0.0/8, fd00::/8) with no bits set past its prefix";

    /// <summary>An IP address (a network of one) or a CIDR range. The address is read as token addresses are (strict dotted
    /// quads: <c>127.1</c> and <c>010.0.0.1</c> are refused). A range with bits set past its prefix (<c>10.0.0.1/8</c>) is refused,
    /// not silently widened to <c>10.0.0.0/8</c>: <see cref="RangeMeant"/> names the range it probably meant.</summary>
    public static bool TryParse(string text, out IPNetwork network)
    {
        if (text.Contains('/', StringComparison.Ordinal))
        {
            return IPNetwork.TryParse(text, out network) && RangeMeant(text) is null;
        }

        var parsed = AddressSet.TryParseAddress(text, out var address);
        network = parsed ? new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128) : default;
        return parsed;
    }

    /// <summary>
    /// For a CIDR range written with bits set past its prefix (<c>10.0.0.1/8</c>), the range with those bits cleared
    /// (<c>10.0.0.0/8</c>); null for any other text. <see cref="IPNetwork.TryParse(string, out IPNetwork)"/> accepts such a range
    /// without a word; whoever wrote it meant either the address or the whole range, and guessing would widen or narrow a policy.
    /// </summary>
    public static string? RangeMeant(string text)
    {
        var slash = text.LastIndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(text.AsSpan(0, slash), out var written)
            || !int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var prefixLength))
        {
            return null;
        }

        var bytes = written.GetAddressBytes();
        var changed = false;
        for (var bit = prefixLength; bit < bytes.Length * 8; bit++)
        {
            var mask = (byte)(0x80 >> (bit % 8));
            if ((bytes[bit / 8] & mask) != 0)
            {
                bytes[bit / 8] &= (byte)~mask;
                changed = true;
            }
        }

        return changed ? $"{new IPAddress(bytes)}/{prefixLength}" : null;
    }

    /// <summary>The entries of a list setting: a comma-separated value and/or the children of an array.</summary>
    public static IEnumerable<string> Entries(string? commaSeparated, IEnumerable<string?> array) =>
        (commaSeparated ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(array.Select(entry => entry?.Trim()).OfType<string>())
            .Where(entry => entry.Length > 0);
}
