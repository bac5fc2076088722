using System.Net;
using TokenGate.Accounts;

namespace TokenGate.Core.Tests;

/// <summary>An account's <c>--allow-from</c> (issue 17): what is accepted, its canonical text, and what is refused and why.</summary>
public sealed class AllowedNetworksTests
{
    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("127.0.0.1", "127.0.0.1/32")]
    [InlineData(" 2001:db8::/32 , 10.1.0.0/16", "10.1.0.0/16,2001:db8::/32")]
    [InlineData("::ffff:10.0.0.0/104", "10.0.0.0/8")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("::1", "::1/128")]
    public void A_list_of_ranges_and_addresses_is_accepted_in_its_canonical_text(string text, string canonical)
    {
        Assert.True(AllowedNetworks.TryParse(text, out var networks, out var error), error);
        Assert.Equal(canonical, networks.Text);
    }

    [Theory]
    [InlineData("10.0.0.1/8", "10.0.0.0/8")]
    [InlineData("192.168.1.1/24", "192.168.1.0/24")]
    [InlineData("::1/64", "::/64")]
    [InlineData("2001:db8::1/32", "2001:db8::/32")]
    [InlineData("10.0.0.0/8, 172.16.5.4/12", "172.16.0.0/12")]
    public void A_range_with_host_bits_set_is_refused_naming_the_value_and_the_range_it_probably_meant(string text, string meant)
    {
        Assert.False(AllowedNetworks.TryParse(text, out var networks, out var error));
        Assert.Null(networks);
        var entry = text.Split(',', StringSplitOptions.TrimEntries)[^1];
        Assert.Equal($"'{entry}' has bits set past its /{entry.Split('/')[1]} prefix: did you mean {meant}?", error);
    }

    [Theory]
    [InlineData("10.0.0.1/8", "10.0.0.0/8")]
    [InlineData("192.168.1.77/24", "192.168.1.0/24")]
    [InlineData("fd00::1/8", "fd00::/8")]
    public void The_one_network_grammar_refuses_a_range_with_bits_set_past_its_prefix_and_names_the_range_meant(string text, string meant)
    {
        // The grammar of --trusted-proxy and of the handler's TrustedProxies too: 10.0.0.1/8 would otherwise trust all of 10/8.
        Assert.False(TokenGate.Configuration.Networks.TryParse(text, out _));
        Assert.Equal(meant, TokenGate.Configuration.Networks.RangeMeant(text));
        Assert.True(TokenGate.Configuration.Networks.TryParse(meant, out var network));
        Assert.Equal(meant, network.ToString());
        Assert.Null(TokenGate.Configuration.Networks.RangeMeant(meant));
    }

    [Theory]
    [InlineData("", "No network given.")]
    [InlineData("10.0.0.0/8,,10.1.0.0/16", "An entry between commas is empty.")]
    [InlineData("not-a-network", "'not-a-network' is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8, fd00::/8) with no bits set past its prefix.")]
    [InlineData("10.0.0.0/33", "'10.0.0.0/33' is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8, fd00::/8) with no bits set past its prefix.")]
    public void Anything_else_that_is_not_a_list_of_ranges_is_refused_with_what_is_wrong(string text, string expected)
    {
        Assert.False(AllowedNetworks.TryParse(text, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void More_than_the_most_ranges_an_account_may_list_are_refused()
    {
        var ranges = Enumerable.Range(0, AllowedNetworks.MaxCount + 1).Select(i => $"10.{i}.0.0/16").ToArray();

        Assert.True(AllowedNetworks.TryParse(string.Join(',', ranges[..^1]), out _, out _));
        Assert.False(AllowedNetworks.TryParse(string.Join(',', ranges), out _, out var error));
        Assert.Equal($"More than {AllowedNetworks.MaxCount} networks.", error);
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.255.1.2", true)]
    [InlineData("10.0.0.0/8", "11.0.0.1", false)]
    [InlineData("10.0.0.0/8", "::ffff:10.1.2.3", true)]
    [InlineData("::ffff:10.0.0.0/104", "10.1.2.3", true)]
    [InlineData("2001:db8::/32", "2001:db8:1::5", true)]
    [InlineData("2001:db8::/32", "2001:db9::5", false)]
    public void An_address_in_any_form_is_compared_as_token_addresses_are(string text, string address, bool contained)
    {
        Assert.True(AllowedNetworks.TryParse(text, out var networks));
        Assert.Equal(contained, networks.Contains(IPAddress.Parse(address)));
    }

    [Fact]
    public void A_stored_value_that_no_longer_parses_admits_nothing()
    {
        Assert.Null(AllowedNetworks.FromStored(null));
        var damaged = AllowedNetworks.FromStored("10.0.0.1/8");
        Assert.Same(AllowedNetworks.None, damaged);
        Assert.False(damaged!.Contains(IPAddress.Parse("10.0.0.1")));
    }
}
