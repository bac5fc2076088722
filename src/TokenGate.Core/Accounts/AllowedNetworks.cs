using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using TokenGate.Tokens;

namespace TokenGate.Accounts;

/// <summary>
/// The networks an account may be used from (its <c>--allow-from</c>): IPv4 and IPv6 CIDR ranges, an IPv4-mapped IPv6 range
/// (<c>::ffff:10.0.0.0/104</c>) read as the IPv4 range it maps, in a canonical order so that one set has one <see cref="Text"/>.
/// Addresses are compared in their normalized form (<see cref="AddressSet.Normalize"/>), as token addresses are.
/// </summary>
public sealed class AllowedNetworks
{
    /// <summary>The most ranges one account may list.</summary>
    public const int MaxCount = 32;

    private readonly IPNetwork[] _networks;

    private AllowedNetworks(IPNetwork[] networks)
    {
        _networks = networks;
        Text = string.Join(',', networks.Select(n => n.ToString()));
    }

    /// <summary>An empty set, which admits nothing: what a damaged stored value reads as (fail closed).</summary>
    public static AllowedNetworks None { get; } = new([]);

    /// <summary>The canonical text: ranges comma-separated, as stored and printed.</summary>
    public string Text { get; }

    public IReadOnlyList<IPNetwork> Networks => _networks;

    /// <summary>Parses a comma-separated list of addresses and CIDR ranges (spaces around commas ignored); at least one, at most
    /// <see cref="MaxCount"/>. A range with bits set past its prefix (<c>10.0.0.1/8</c>) is refused, not silently widened.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out AllowedNetworks? networks) => TryParse(text, out networks, out _);

    /// <summary>As <see cref="TryParse(string?, out AllowedNetworks?)"/>, with what is wrong when the text is refused: one
    /// sentence naming the entry, ending in its punctuation, and for a range with host bits set the range it probably meant.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out AllowedNetworks? networks, [NotNullWhen(false)] out string? error)
    {
        networks = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "No network given.";
            return false;
        }

        var parsed = new List<IPNetwork>();
        foreach (var entry in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (entry.Length == 0)
            {
                error = "An entry between commas is empty.";
                return false;
            }

            if (parsed.Count == MaxCount)
            {
                error = $"More than {MaxCount} networks.";
                return false;
            }

            // Parsed first: a stored policy is read on every check of its account, and the refusal's reason is looked for only
            // when the entry is refused.
            if (!Configuration.Networks.TryParse(entry, out var network))
            {
                error = Configuration.Networks.RangeMeant(entry) is { } meant
                    ? $"'{entry}' has bits set past its /{meant[(meant.LastIndexOf('/') + 1)..]} prefix: did you mean {meant}?"
                    : $"'{entry}' is not {Configuration.Networks.Expected}.";
                return false;
            }

            parsed.Add(Normalize(network));
        }

        networks = new AllowedNetworks([.. parsed.Distinct().OrderBy(n => n.BaseAddress.AddressFamily).ThenBy(n => n.BaseAddress.ToString(), StringComparer.Ordinal).ThenBy(n => n.PrefixLength)]);
        error = null;
        return true;
    }

    /// <summary>A stored value: null is no restriction; a value that no longer parses admits nothing.</summary>
    public static AllowedNetworks? FromStored(string? text) =>
        text is null ? null : TryParse(text, out var networks) ? networks : None;

    /// <summary>Whether <paramref name="address"/> (in any form: IPv4, IPv6, IPv4-mapped) lies in one of the ranges.</summary>
    public bool Contains(IPAddress address)
    {
        var normalized = AddressSet.Normalize(address);
        foreach (var network in _networks)
        {
            if (network.Contains(normalized))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether every address of <paramref name="addresses"/> lies in the ranges.</summary>
    public bool ContainsAll(AddressSet addresses)
    {
        foreach (var address in addresses.Addresses)
        {
            if (!Contains(address))
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString() => Text;

    // ::ffff:a.b.c.d/n with n >= 96 is the IPv4 range a.b.c.d/(n-96): callers' mapped addresses are compared as IPv4.
    private static IPNetwork Normalize(IPNetwork network) =>
        network.BaseAddress.IsIPv4MappedToIPv6 && network.PrefixLength >= 96
            ? new IPNetwork(network.BaseAddress.MapToIPv4(), network.PrefixLength - 96)
            : network.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 && network.BaseAddress.ScopeId != 0
                ? new IPNetwork(new IPAddress(network.BaseAddress.GetAddressBytes()), network.PrefixLength)
                : network;
}
