using System.Net;
using System.Net.Sockets;
using TokenGate.Tokens;

namespace TokenGate.Core.Tests;

/// <summary>The <c>address</c> argument of <c>get</c>: what is accepted, how it is normalised, and the canonical key.</summary>
public sealed class AddressSetTests
{
    private static AddressSet Parse(string list)
    {
        Assert.True(AddressSet.TryParse(list, out var set), $"'{list}' should parse");
        return set!;
    }

    [Theory]
    [InlineData("1.2.3.4", "1.2.3.4", AddressFamily.InterNetwork)]
    [InlineData("0.0.0.0", "0.0.0.0", AddressFamily.InterNetwork)]
    [InlineData("255.255.255.255", "255.255.255.255", AddressFamily.InterNetwork)]
    [InlineData("192.168.100.200", "192.168.100.200", AddressFamily.InterNetwork)]
    [InlineData("::1", "::1", AddressFamily.InterNetworkV6)]
    [InlineData("2001:db8::1", "2001:db8::1", AddressFamily.InterNetworkV6)]
    [InlineData("2001:DB8:0:0:0:0:0:1", "2001:db8::1", AddressFamily.InterNetworkV6)]
    [InlineData("fe80::1", "fe80::1", AddressFamily.InterNetworkV6)]
    [InlineData("::", "::", AddressFamily.InterNetworkV6)]
    public void A_strict_dotted_quad_or_an_ipv6_address_is_accepted_in_its_canonical_form(string text, string key, AddressFamily family)
    {
        var set = Parse(text);

        var address = Assert.Single(set.Addresses);
        Assert.Equal(family, address.AddressFamily);
        Assert.Equal(key, set.Key);
    }

    [Theory]
    [InlineData("1.2.3")]
    [InlineData("1.2.3.256")]
    [InlineData("256.1.1.1")]
    [InlineData("01.2.3.4")]
    [InlineData("1.2.3.04")]
    [InlineData("1.2.3.000")]
    [InlineData("0x7f.0.0.1")]
    [InlineData("1")]
    [InlineData("2130706433")]
    [InlineData("1.2.3.4.5")]
    [InlineData("1.2.3.4.")]
    [InlineData(".1.2.3")]
    [InlineData("1..2.3")]
    [InlineData("1.2 .3.4")]
    [InlineData("1. 2.3.4")]
    [InlineData("1.2.3. 4")]
    [InlineData("1.2.3.-4")]
    [InlineData("+1.2.3.4")]
    [InlineData("1.2.3.4/32")]
    [InlineData("1.2.3.4:80")]
    [InlineData("localhost")]
    [InlineData("\u0661.2.3.4")]
    public void An_ipv4_address_that_is_not_a_strict_dotted_quad_is_rejected(string text)
    {
        Assert.False(AddressSet.TryParse(text, out var set));
        Assert.Null(set);
        Assert.False(AddressSet.TryParseAddress(text, out _));
    }

    [Theory]
    [InlineData("fe80::1%eth0")]
    [InlineData("fe80::1%2")]
    [InlineData("::ffff:1.2.3.4%1")]
    [InlineData("[::1]")]
    [InlineData("[::1]:80")]
    [InlineData("::1]")]
    [InlineData("2001:db8::/32")]
    [InlineData("fe80:: 1")]
    [InlineData("::ffff:01.2.3.4")]
    [InlineData("::ffff:1.2.3")]
    [InlineData("::ffff:0x7f.0.0.1")]
    [InlineData("1:2:3:4:5:6:7:8:9")]
    public void An_ipv6_address_with_a_scope_id_brackets_or_other_decoration_is_rejected(string text)
    {
        Assert.False(AddressSet.TryParse(text, out _));
    }

    [Theory]
    [InlineData("::ffff:1.2.3.4")]
    [InlineData("::FFFF:1.2.3.4")]
    [InlineData("0:0:0:0:0:ffff:1.2.3.4")]
    [InlineData("::ffff:102:304")]
    public void An_ipv4_mapped_ipv6_address_is_parsed_as_its_ipv4_form(string text)
    {
        var set = Parse(text);

        Assert.Equal(IPAddress.Parse("1.2.3.4"), Assert.Single(set.Addresses));
        Assert.Equal("1.2.3.4", set.Key);
        Assert.Equal(Parse("1.2.3.4"), set);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("0:0:0:0:0:0:0:0")]
    [InlineData("255.255.255.255")]
    [InlineData("224.0.0.1")]
    [InlineData("239.255.255.250")]
    [InlineData("ff02::1")]
    [InlineData("ff0e::1234")]
    [InlineData("::ffff:0.0.0.0")]
    [InlineData("::ffff:255.255.255.255")]
    [InlineData("::ffff:224.0.0.251")]
    [InlineData("10.0.0.1, 224.0.0.1")]
    public void An_address_no_client_can_call_from_is_refused_for_binding_though_its_syntax_is_valid(string list)
    {
        Assert.True(AddressSet.TryParse(list, out _));

        Assert.False(AddressSet.TryParseForBinding(list, out var set));
        Assert.Null(set);
    }

    [Theory]
    [InlineData("1.2.3.4", "1.2.3.4")]
    [InlineData("0.0.0.1", "0.0.0.1")]
    [InlineData("223.255.255.255", "223.255.255.255")]
    [InlineData("240.0.0.1", "240.0.0.1")]
    [InlineData("255.255.255.254", "255.255.255.254")]
    [InlineData("::1", "::1")]
    [InlineData("fe80::1", "fe80::1")]
    [InlineData("feff::1", "feff::1")]
    [InlineData("::ffff:10.0.0.1, 2001:db8::1", "10.0.0.1,2001:db8::1")]
    public void A_unicast_address_is_bound_in_its_canonical_form(string list, string key)
    {
        Assert.True(AddressSet.TryParseForBinding(list, out var set));

        Assert.Equal(key, set!.Key);
    }

    [Fact]
    public void An_ipv4_mapped_address_and_its_ipv4_form_in_one_list_are_one_address()
    {
        var set = Parse("1.2.3.4, ::ffff:1.2.3.4");

        Assert.Single(set.Addresses);
        Assert.Equal("1.2.3.4", set.Key);
    }

    [Fact]
    public void Contains_treats_an_ipv4_mapped_caller_as_its_ipv4_form_and_the_other_way_round()
    {
        var v4 = Parse("10.0.0.1");
        var mapped = Parse("::ffff:10.0.0.1");

        Assert.True(v4.Contains(IPAddress.Parse("::ffff:10.0.0.1")));
        Assert.True(v4.Contains(IPAddress.Parse("10.0.0.1").MapToIPv6()));
        Assert.True(mapped.Contains(IPAddress.Parse("10.0.0.1")));
        Assert.False(v4.Contains(IPAddress.Parse("::ffff:10.0.0.2")));
    }

    [Fact]
    public void Contains_answers_only_for_the_addresses_in_the_set()
    {
        var set = Parse("10.0.0.1,2001:db8::5");

        Assert.True(set.Contains(IPAddress.Parse("10.0.0.1")));
        Assert.True(set.Contains(IPAddress.Parse("2001:db8::5")));
        Assert.True(set.Contains(IPAddress.Parse("2001:0db8:0:0::5")));
        Assert.False(set.Contains(IPAddress.Parse("10.0.0.2")));
        Assert.False(set.Contains(IPAddress.Parse("2001:db8::6")));
        Assert.False(set.Contains(IPAddress.Parse("::1")));
        Assert.False(set.Contains(IPAddress.Parse("127.0.0.1")));
    }

    [Fact]
    public void Contains_ignores_the_scope_id_of_a_caller()
    {
        var set = Parse("fe80::1");

        Assert.True(set.Contains(IPAddress.Parse("fe80::1%3")));
    }

    [Theory]
    [InlineData("10.0.0.1,10.0.0.2")]
    [InlineData("10.0.0.1 ,10.0.0.2")]
    [InlineData("10.0.0.1, 10.0.0.2")]
    [InlineData("  10.0.0.1  ,   10.0.0.2  ")]
    public void Spaces_around_commas_are_ignored(string text)
    {
        Assert.Equal("10.0.0.1,10.0.0.2", Parse(text).Key);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(",")]
    [InlineData("10.0.0.1,")]
    [InlineData(",10.0.0.1")]
    [InlineData("10.0.0.1,,10.0.0.2")]
    [InlineData("10.0.0.1, ,10.0.0.2")]
    [InlineData("10.0.0.1;10.0.0.2")]
    [InlineData("10.0.0.1 10.0.0.2")]
    [InlineData("10.0.0.1,\t10.0.0.2")]
    public void An_empty_entry_or_another_separator_is_rejected(string text)
    {
        Assert.False(AddressSet.TryParse(text, out _));
    }

    [Fact]
    public void Ten_addresses_are_accepted_and_eleven_are_rejected()
    {
        var ten = string.Join(", ", Enumerable.Range(1, 10).Select(i => $"10.0.0.{i}"));
        var eleven = ten + ", 10.0.0.11";

        Assert.Equal(10, Parse(ten).Addresses.Count);
        Assert.False(AddressSet.TryParse(eleven, out _));
    }

    [Fact]
    public void Ten_of_the_longest_ipv6_addresses_with_spaces_around_commas_are_accepted()
    {
        var ten = string.Join(" , ", Enumerable.Range(1, 10).Select(i => $"2001:0db8:0000:0000:0000:0000:0000:{i:x4}"));

        Assert.Equal(10, Parse(ten).Addresses.Count);
    }

    [Fact]
    public void Duplicates_are_collapsed()
    {
        var set = Parse("10.0.0.1, 10.0.0.1, ::1, 0:0:0:0:0:0:0:1, 10.0.0.2");

        Assert.Equal(3, set.Addresses.Count);
        Assert.Equal(Parse("10.0.0.2,::1,10.0.0.1"), set);
    }

    [Fact]
    public void The_key_is_canonical_and_does_not_depend_on_order()
    {
        var one = Parse("2001:db8::1, 10.0.0.2, ::ffff:10.0.0.1, 192.168.0.1");
        var other = Parse("192.168.0.1,10.0.0.1,2001:DB8:0::1,10.0.0.2");

        Assert.Equal(one.Key, other.Key);
        Assert.Equal("10.0.0.1,10.0.0.2,192.168.0.1,2001:db8::1", one.Key);
        Assert.True(one.Equals(other));
        Assert.True(one.Equals((object)other));
        Assert.Equal(one.GetHashCode(), other.GetHashCode());
        Assert.Equal(one.Key, one.ToString());
    }

    [Fact]
    public void IPv4_addresses_are_ordered_by_value_not_by_text()
    {
        Assert.Equal("9.0.0.1,10.0.0.1,100.0.0.1", Parse("100.0.0.1,10.0.0.1,9.0.0.1").Key);
    }

    [Fact]
    public void Different_sets_are_not_equal()
    {
        var one = Parse("10.0.0.1,10.0.0.2");
        var other = Parse("10.0.0.1");

        Assert.NotEqual(one.Key, other.Key);
        Assert.False(one.Equals(other));
        Assert.False(one.Equals(null));
    }

    [Theory]
    [InlineData("10.0.0.1")]
    [InlineData("::1")]
    [InlineData("::ffff:0:1.2.3.4")]
    [InlineData("::1.2.3.4")]
    [InlineData("2001:db8::1, 10.0.0.2, ::ffff:10.0.0.1, fe80::1")]
    public void FromKey_reads_back_the_same_set(string text)
    {
        var set = Parse(text);

        var read = AddressSet.FromKey(set.Key);

        Assert.Equal(set, read);
        Assert.Equal(set.Key, read.Key);
        Assert.Equal(set.Addresses, read.Addresses);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.0.0")]
    [InlineData("10.0.0.1,,10.0.0.2")]
    public void FromKey_throws_on_text_that_is_not_a_key(string key)
    {
        Assert.Throws<FormatException>(() => AddressSet.FromKey(key));
    }

    [Fact]
    public void Single_normalises_its_address()
    {
        Assert.Equal("10.0.0.1", AddressSet.Single(IPAddress.Parse("::ffff:10.0.0.1")).Key);
        Assert.Equal("fe80::1", AddressSet.Single(IPAddress.Parse("fe80::1%4")).Key);
        Assert.Equal(Parse("10.0.0.1"), AddressSet.Single(IPAddress.Parse("10.0.0.1")));
    }

    [Fact]
    public void A_list_of_a_thousand_addresses_is_rejected()
    {
        var huge = string.Join(",", Enumerable.Repeat("10.0.0.1", 1000));

        Assert.False(AddressSet.TryParse(huge, out _));
    }
}
