using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace TokenGate.Tokens;

/// <summary>
/// The set of IP addresses a token is bound to: at most <see cref="MaxCount"/> addresses, IPv4-mapped IPv6 addresses in their
/// IPv4 form, no scope ids, no duplicates, in a canonical order so that two lists naming the same addresses give one <see cref="Key"/>.
/// </summary>
public sealed class AddressSet : IEquatable<AddressSet>
{
    public const int MaxCount = 10;

    // The longest textual IPv6 address (with an embedded IPv4 part) is 45 characters.
    private const int MaxAddressLength = 45;
    private const int MaxListLength = (MaxAddressLength + 8) * MaxCount;

    private readonly IPAddress[] _addresses;

    private AddressSet(IPAddress[] addresses)
    {
        _addresses = addresses;
        Key = string.Join(',', addresses.Select(a => a.ToString()));
    }

    /// <summary>The canonical text of the set: its addresses in canonical order, comma-separated. Two equal sets have equal keys.</summary>
    public string Key { get; }

    public IReadOnlyList<IPAddress> Addresses => _addresses;

    public static AddressSet Single(IPAddress address) => new([Normalize(address)]);

    /// <summary>Parses a comma-separated list of IPv4 or IPv6 addresses (spaces around commas ignored).</summary>
    public static bool TryParse(ReadOnlySpan<char> list, out AddressSet? set)
    {
        set = null;
        if (list.IsEmpty || list.Length > MaxListLength)
        {
            return false;
        }

        var parsed = new List<IPAddress>(4);
        foreach (var range in list.Split(','))
        {
            if (parsed.Count == MaxCount || !TryParseAddress(list[range].Trim(' '), out var address))
            {
                return false;
            }

            parsed.Add(address);
        }

        set = FromNormalized(parsed);
        return true;
    }

    /// <summary>
    /// Parses the list a client asks a token to be bound to: as <see cref="TryParse"/>, and refuses any address no client can call
    /// from (<see cref="CanBeCaller"/>), which would bind a token nobody can use. Stored keys and trusted-proxy networks are read
    /// with <see cref="TryParse"/> and <see cref="TryParseAddress"/>, which check only the syntax.
    /// </summary>
    public static bool TryParseForBinding(ReadOnlySpan<char> list, out AddressSet? set)
    {
        if (TryParse(list, out set) && Array.TrueForAll(set!._addresses, CanBeCaller))
        {
            return true;
        }

        set = null;
        return false;
    }

    /// <summary>
    /// False for addresses that are never the source of a connection: unspecified (<c>0.0.0.0</c>, <c>::</c>), the limited
    /// broadcast (<c>255.255.255.255</c>) and multicast (<c>224.0.0.0/4</c>, <c>ff00::/8</c>); IPv4-mapped IPv6 addresses are
    /// judged in their IPv4 form.
    /// </summary>
    public static bool CanBeCaller(IPAddress address)
    {
        address = Normalize(address);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> bytes = stackalloc byte[4];
            address.TryWriteBytes(bytes, out _);
            var value = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            return value is not (0 or uint.MaxValue) && (value >> 28) != 0b1110;
        }

        return !address.Equals(IPAddress.IPv6Any) && !address.IsIPv6Multicast;
    }

    /// <summary>Reads back a <see cref="Key"/> written by this class.</summary>
    public static AddressSet FromKey(string key)
    {
        if (!TryParse(key, out var set))
        {
            throw new FormatException("Stored address set is not canonical.");
        }

        return set!;
    }

    /// <summary>Parses one address strictly: dotted-quad IPv4 (no shorthand, no leading zeros) or IPv6 without a scope id.</summary>
    public static bool TryParseAddress(ReadOnlySpan<char> text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.IsEmpty || text.Length > MaxAddressLength)
        {
            return false;
        }

        if (text.Contains(':'))
        {
            if (text.ContainsAny('%', '[', '/') || !IPAddress.TryParse(text, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return false;
            }

            address = Normalize(v6);
            return true;
        }

        if (!IsStrictDottedQuad(text) || !IPAddress.TryParse(text, out var v4))
        {
            return false;
        }

        address = v4;
        return true;
    }

    /// <summary>IPv4-mapped IPv6 becomes IPv4; an IPv6 scope id is dropped.</summary>
    public static IPAddress Normalize(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
        {
            return new IPAddress(address.GetAddressBytes());
        }

        return address;
    }

    public bool Contains(IPAddress address)
    {
        var normalized = Normalize(address);
        foreach (var candidate in _addresses)
        {
            if (candidate.Equals(normalized))
            {
                return true;
            }
        }

        return false;
    }

    public bool Equals(AddressSet? other) => other is not null && string.Equals(Key, other.Key, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as AddressSet);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Key);

    public override string ToString() => Key;

    private static AddressSet FromNormalized(List<IPAddress> addresses)
    {
        var distinct = addresses.Distinct().ToArray();
        Array.Sort(distinct, CompareAddresses);
        return new AddressSet(distinct);
    }

    private static int CompareAddresses(IPAddress x, IPAddress y)
    {
        var byFamily = x.AddressFamily.CompareTo(y.AddressFamily);
        if (byFamily != 0)
        {
            return byFamily;
        }

        Span<byte> a = stackalloc byte[16];
        Span<byte> b = stackalloc byte[16];
        x.TryWriteBytes(a, out var aLength);
        y.TryWriteBytes(b, out var bLength);
        return a[..aLength].SequenceCompareTo(b[..bLength]);
    }

    private static bool IsStrictDottedQuad(ReadOnlySpan<char> text)
    {
        var parts = 0;
        foreach (var range in text.Split('.'))
        {
            var part = text[range];
            parts++;
            if (parts > 4 || part.IsEmpty || part.Length > 3 || (part.Length > 1 && part[0] == '0'))
            {
                return false;
            }

            var value = 0;
            foreach (var c in part)
            {
                if (!char.IsAsciiDigit(c))
                {
                    return false;
                }

                value = (value * 10) + (c - '0');
            }

            if (value > 255)
            {
                return false;
            }
        }

        return parts == 4;
    }
}
