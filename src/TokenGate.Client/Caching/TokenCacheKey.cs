using System.Net;
using System.Net.Sockets;

namespace TokenGate.Client.Caching;

/// <summary>
/// The cache key: everything that changes which token the API hands out — the endpoint, the username and the set of addresses
/// the token is bound to (order, duplicates and IPv4-mapped IPv6 forms do not matter, as on the server). The password is left
/// out: it is a secret, and changing it does not change the token. The key holds no secret and is stable across processes, so
/// a persistent store can use it as is.
/// </summary>
internal static class TokenCacheKey
{
    private const string Version = "tokengate-client/1";

    public static string Create(Uri endpoint, string username, IEnumerable<string> addresses)
    {
        var normalizedEndpoint = endpoint.GetComponents(UriComponents.HttpRequestUrl, UriFormat.UriEscaped);
        var addressSet = string.Join(",", NormalizeAddresses(addresses));
        return string.Join(
            "|",
            Version,
            Uri.EscapeDataString(normalizedEndpoint),
            Uri.EscapeDataString(username),
            addressSet.Length == 0 ? "caller" : Uri.EscapeDataString(addressSet));
    }

    public static IEnumerable<string> NormalizeAddresses(IEnumerable<string> addresses) =>
        addresses
            .Select(a => a.Trim())
            .Where(a => a.Length > 0)
            .Select(Normalize)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);

    private static string Normalize(string address)
    {
        if (!IPAddress.TryParse(address, out var ip))
        {
            return address.ToLowerInvariant();
        }

        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }

        return ip.AddressFamily == AddressFamily.InterNetworkV6 ? ip.ToString().ToLowerInvariant() : ip.ToString();
    }
}
