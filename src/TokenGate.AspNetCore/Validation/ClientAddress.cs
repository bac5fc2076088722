using System.Net;
using Microsoft.AspNetCore.Http;
using TokenGate.Tokens;

namespace TokenGate.AspNetCore.Validation;

/// <summary>
/// The caller's address, by the rule the TokenGate server applies (ASP.NET Core's <c>ForwardedHeadersMiddleware</c> with the trusted
/// proxies as known networks and no forward limit): the connection's address, unless it is a trusted proxy; then
/// <c>X-Forwarded-For</c> is read from the right, each entry believed while the address before it is a trusted proxy, so the
/// result is the right-most address that is not one. An unparsable entry stops the walk. IPv4-mapped IPv6 counts as IPv4.
/// </summary>
internal static class ClientAddress
{
    private const string ForwardedForHeader = "X-Forwarded-For";

    public static IPAddress? Resolve(HttpContext context, IList<IPNetwork> trustedProxies)
    {
        if (context.Connection.RemoteIpAddress is not { } remote)
        {
            return null;
        }

        var current = AddressSet.Normalize(remote);
        if (trustedProxies.Count == 0 || !IsTrusted(current, trustedProxies))
        {
            return current;
        }

        var entries = context.Request.Headers.GetCommaSeparatedValues(ForwardedForHeader);
        for (var i = entries.Length - 1; i >= 0 && IsTrusted(current, trustedProxies); i--)
        {
            if (IPEndPoint.TryParse(entries[i], out var forwarded))
            {
                current = AddressSet.Normalize(forwarded.Address);
            }
            else if (!string.IsNullOrEmpty(entries[i]))
            {
                break;
            }
        }

        return current;
    }

    private static bool IsTrusted(IPAddress address, IList<IPNetwork> trustedProxies)
    {
        foreach (var network in trustedProxies)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
