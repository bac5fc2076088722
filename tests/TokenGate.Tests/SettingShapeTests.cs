using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// Settings of the wrong shape or under another documented spelling, with the real executable: the list of trusted proxies is
/// read under both spellings in both shapes; a list or object where one value belongs is refused with one line and exit 2; an
/// error about an environment variable names the variable the operator set.
/// </summary>
public sealed class SettingShapeTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Theory(Timeout = 120_000)]
    [InlineData("""{"TokenGate": {"TrustedProxy": ["10.0.0.0/8", "192.0.2.1"]}}""")]
    [InlineData("""{"TokenGate": {"TrustedProxy": "10.0.0.0/8, 192.0.2.1"}}""")]
    [InlineData("""{"TokenGate": {"TrustedProxies": ["10.0.0.0/8", "192.0.2.1"]}}""")]
    [InlineData("""{"TokenGate": {"TrustedProxies": "10.0.0.0/8,192.0.2.1"}}""")]
    public async Task Trusted_proxies_in_appsettings_json_are_read_under_either_spelling_as_an_array_or_a_string(string json)
    {
        File.WriteAllText(Path.Combine(_workspace.Directory, "appsettings.json"), json);

        var (exitCode, output, error) = await RunAsync(null, "config", "show", "--database", _workspace.DatabasePath);

        Assert.Equal((ExitCodes.Ok, string.Empty), (exitCode, error));
        Assert.Matches(@"(?m)^TrustedProxy +10\.0\.0\.0/8,192\.0\.2\.1 +appsettings\.json$", output);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("TOKENGATE_TRUSTED_PROXY")]
    [InlineData("TOKENGATE_TRUSTED_PROXIES")]
    public async Task Trusted_proxies_are_read_from_either_variable(string variable)
    {
        var (exitCode, output, error) = await RunAsync(new Dictionary<string, string> { [variable] = "10.0.0.0/8" }, "config", "show", "--database", _workspace.DatabasePath);

        Assert.Equal((ExitCodes.Ok, string.Empty), (exitCode, error));
        Assert.Matches(@"(?m)^TrustedProxy +10\.0\.0\.0/8 +environment$", output);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("""{"TokenGate": {"MaxConnections": [100, 200]}}""", "error: appsettings.json (TokenGate:MaxConnections): is a list or an object; give one value.\n")]
    [InlineData("""{"TokenGate": {"RequirePostCredentials": {"enabled": true}}}""", "error: appsettings.json (TokenGate:RequirePostCredentials): is a list or an object; give one value.\n")]
    [InlineData(
        """{"TokenGate": {"TrustedProxies": {"nginx": "10.0.0.1"}}}""",
        "error: appsettings.json (TokenGate:TrustedProxy): TokenGate:TrustedProxies is not a list of values; give an array of strings, e.g. [\"10.0.0.0/8\"], or one comma-separated string.\n")]
    public async Task Serve_refuses_a_value_of_the_wrong_shape_with_one_line_and_exit_2(string json, string expected)
    {
        File.WriteAllText(Path.Combine(_workspace.Directory, "appsettings.json"), json);

        var (exitCode, output, error) = await RunAsync(null, "serve", "--urls", "http://127.0.0.1:0", "--database", _workspace.DatabasePath);

        Assert.Equal(ExitCodes.BadConfiguration, exitCode);
        Assert.Equal(expected, error);
        Assert.DoesNotContain("Now listening", output, StringComparison.Ordinal);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("TOKENGATE_MAX_CONNECTIONS", "0", "error: TOKENGATE_MAX_CONNECTIONS (TokenGate:MaxConnections): 0 is out of range; use 1 to 1000000.\n")]
    [InlineData("TOKENGATE_MAXCONNECTIONS", "0", "error: TOKENGATE_MAXCONNECTIONS (TokenGate:MaxConnections): 0 is out of range; use 1 to 1000000.\n")]
    [InlineData("TOKENGATE_TOKEN_LIFETIME", "abc", "error: TOKENGATE_TOKEN_LIFETIME (TokenGate:TokenLifetime): 'abc' is not a duration; use seconds (3600) or a unit (90s, 15m, 12h, 7d).\n")]
    [InlineData("TOKENGATE_TRUSTED_PROXIES", "10.0.0.0/33", "error: TOKENGATE_TRUSTED_PROXIES (TokenGate:TrustedProxy): '10.0.0.0/33' is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8, fd00::/8) with no bits set past its prefix, or unix (every peer on a Unix socket).\n")]
    [InlineData("TOKENGATE_TRUSTED_PROXIES", "10.0.0.1/8", "error: TOKENGATE_TRUSTED_PROXIES (TokenGate:TrustedProxy): '10.0.0.1/8' is not an IP address or CIDR range (10.0.0.5, 10.0.0.0/8, fd00::/8) with no bits set past its prefix, or unix (every peer on a Unix socket).\n")]
    public async Task An_invalid_environment_variable_is_named_as_the_operator_set_it(string variable, string value, string expected)
    {
        var (exitCode, _, error) = await RunAsync(new Dictionary<string, string> { [variable] = value }, "serve", "--urls", "http://127.0.0.1:0", "--database", _workspace.DatabasePath);

        Assert.Equal(ExitCodes.BadConfiguration, exitCode);
        Assert.Equal(expected, error);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_same_value_from_an_option_is_named_by_the_option()
    {
        var (exitCode, _, error) = await RunAsync(
            new Dictionary<string, string> { ["TOKENGATE_TOKEN_LIFETIME"] = "1h" }, "serve", "--token-lifetime", "abc", "--urls", "http://127.0.0.1:0", "--database", _workspace.DatabasePath);

        Assert.Equal(ExitCodes.BadConfiguration, exitCode);
        Assert.StartsWith("error: --token-lifetime (TokenGate:TokenLifetime): 'abc'", error, StringComparison.Ordinal);
    }

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = TokenGateProcess.Start(_workspace.Directory, environment, args);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!process.HasExited)
        {
            Assert.True(DateTime.UtcNow < deadline, $"tokengate {string.Join(' ', args)} did not exit.\nstdout:\n{process.Output}\nstderr:\n{process.Error}");
            await Task.Delay(50);
        }

        // Let the output readers catch up with the last lines.
        await Task.Delay(200);
        return (process.ExitCode, process.Output, process.Error);
    }
}
