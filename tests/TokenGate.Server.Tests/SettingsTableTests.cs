using System.Collections;
using Microsoft.Extensions.Configuration;
using TokenGate.Server.Configuration;
using TokenGate.Server.Hosting;

namespace TokenGate.Server.Tests;

/// <summary>The settings table: each setting's spellings agree, and reading reports every problem at once, naming the setting.</summary>
public sealed class SettingsTableTests
{
    [Fact]
    public void Every_settings_environment_variable_sets_its_own_key()
    {
        foreach (var setting in TokenGateSettingsTable.All)
        {
            var configuration = new ConfigurationBuilder()
                .AddTokenGateEnvironmentVariables(new Hashtable { [setting.EnvironmentVariable] = "value" })
                .Build();

            Assert.Equal("value", configuration[setting.Path]);
        }
    }

    [Fact]
    public void Keys_variables_and_options_are_each_used_once()
    {
        var settings = TokenGateSettingsTable.All.ToList();

        Assert.Equal(settings.Count, settings.Select(setting => setting.Key).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(settings.Count, settings.Select(setting => setting.EnvironmentVariable).Distinct().Count());
        var options = settings.Select(setting => setting.Option).OfType<string>().ToList();
        Assert.Equal(options.Count, options.Distinct().Count());
    }

    [Fact]
    public void Every_invalid_value_of_every_feature_is_reported_at_once_naming_its_setting()
    {
        var configuration = Configuration(new()
        {
            ["TokenGate:SweepBatchSize"] = "0",
            ["TokenGate:LoginWindow"] = "abc",
            ["TokenGate:PasswordMaxLength"] = "4",
            ["TokenGate:TokenLifetime"] = "367d",
            ["TokenGate:TrustedProxies:0"] = "10.0.0.0/33",
        });

        var failure = Assert.Throws<TokenGateConfigurationException>(() => TokenGateSettings.FromConfiguration(configuration));

        Assert.Equal(
            [
                "--trusted-proxy (TokenGate:TrustedProxy): '10.0.0.0/33' is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8, fd00::/8) with no bits set past its prefix, or unix (every peer on a Unix socket).",
                "--token-lifetime (TokenGate:TokenLifetime): 367d is out of range; use 1 second to 366 days.",
                "TOKENGATE_PASSWORD_MAX_LENGTH (TokenGate:PasswordMaxLength): 4 is less than TOKENGATE_PASSWORD_MIN_LENGTH (8).",
                "TOKENGATE_LOGIN_WINDOW (TokenGate:LoginWindow): 'abc' is not a duration; use seconds (3600) or a unit (90s, 15m, 12h, 7d).",
                "TOKENGATE_SWEEP_BATCH_SIZE (TokenGate:SweepBatchSize): 0 is out of range; use 1 to 100000.",
            ],
            failure.Errors);
    }

    [Fact]
    public void Values_bind_each_features_options_and_trusted_proxies_come_from_both_spellings()
    {
        var settings = TokenGateSettings.FromConfiguration(Configuration(new()
        {
            ["TokenGate:TokenLifetime"] = "2h",
            ["TokenGate:LoginMaxDelay"] = "500ms",
            ["TokenGate:SweepInterval"] = "00:00:30",
            ["TokenGate:Cache"] = "false",
            ["TokenGate:TrustedProxy"] = "10.0.0.1, 10.1.0.0/16",
            ["TokenGate:TrustedProxies:0"] = "fd00::/8",
        }));

        Assert.Equal(TimeSpan.FromHours(2), settings.TokenPolicy.Lifetime);
        Assert.Equal(TimeSpan.FromMilliseconds(500), settings.LoginThrottle.MaxDelay);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Sweeper.Interval);
        Assert.False(settings.CacheOptions.Enabled);
        Assert.Equal(["10.0.0.1/32", "10.1.0.0/16", "fd00::/8"], settings.TrustedProxies.Select(network => network.ToString()));
    }

    [Fact]
    public void Unix_as_a_trusted_proxy_trusts_unix_socket_peers_and_is_not_an_address()
    {
        var settings = TokenGateSettings.FromConfiguration(Configuration(new()
        {
            ["TokenGate:TrustedProxy"] = "10.0.0.1, unix",
        }));
        var without = TokenGateSettings.FromConfiguration(Configuration(new() { ["TokenGate:TrustedProxy"] = "10.0.0.1" }));

        Assert.True(settings.TrustUnixSocketProxy);
        Assert.Equal(["10.0.0.1/32"], settings.TrustedProxies.Select(network => network.ToString()));
        Assert.False(without.TrustUnixSocketProxy);
    }

    [Theory]
    [InlineData("::")]
    [InlineData("::/128")]
    public void The_unspecified_address_written_out_is_refused_not_read_as_unix(string proxy)
    {
        var failure = Assert.Throws<TokenGateConfigurationException>(() => TokenGateSettings.FromConfiguration(Configuration(new()
        {
            ["TokenGate:TrustedProxy"] = proxy,
        })));

        Assert.Contains("or unix (every peer on a Unix socket)", Assert.Single(failure.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void The_console_settings_bind_and_decide_where_it_answers_and_bad_console_urls_are_named()
    {
        var unset = TokenGateSettings.FromConfiguration(Configuration(new() { ["TokenGate:Urls"] = "http://0.0.0.0:5080" }));
        var on = TokenGateSettings.FromConfiguration(Configuration(new() { ["TokenGate:Urls"] = "http://0.0.0.0:5080", ["TokenGate:Console"] = "true" }));
        var off = TokenGateSettings.FromConfiguration(Configuration(new() { ["TokenGate:Console"] = "false" }));
        var own = TokenGateSettings.FromConfiguration(Configuration(new() { ["TokenGate:ConsoleUrls"] = "http://127.0.0.1:5081" }));

        Assert.Null(unset.Console.Enabled);
        Assert.Equal(ConsolePlacement.Off, unset.Console.Placement(unset.Urls));
        Assert.Equal(ConsolePlacement.ApiListener, on.Console.Placement(on.Urls));
        Assert.Equal(ConsolePlacement.Off, off.Console.Placement(off.Urls));
        Assert.Equal(ConsolePlacement.ApiListener, TokenGateSettings.FromConfiguration(Configuration([])).Console.Placement(TokenGateSettings.DefaultUrls));
        Assert.Equal(ConsolePlacement.OwnListener, own.Console.Placement(own.Urls));
        var failure = Assert.Throws<TokenGateConfigurationException>(() => TokenGateSettings.FromConfiguration(Configuration(new() { ["TokenGate:ConsoleUrls"] = "127.0.0.1" })));
        Assert.StartsWith("--console-urls (TokenGate:ConsoleUrls): '127.0.0.1' is not where to listen", Assert.Single(failure.Errors), StringComparison.Ordinal);
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
