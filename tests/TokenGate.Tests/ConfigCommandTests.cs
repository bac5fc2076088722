using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary><c>tokengate config show</c> (effective settings, their source, secrets hidden) and <c>config check</c> (serve's checks, no listening).</summary>
public sealed class ConfigCommandTests : IDisposable
{
    private const string Secret = "pg-s3cret-in-the-connection-string";
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact]
    public async Task Config_show_prints_each_setting_with_its_source_and_hides_the_connection_string_password()
    {
        var result = await CliWorkspace.InvokeAsync(
            ["config", "show", "--token-lifetime", "2h", "--database", $"postgres://tokengate:{Secret}@db.example:5433/tokens"], string.Empty);

        Assert.Equal((ExitCodes.Ok, string.Empty), (result.ExitCode, result.Error));
        Assert.Equal(["TokenLifetime", "2h", "option"], Assert.Single(result.RowsStartingWith("TokenLifetime")));
        Assert.Equal(["SweepInterval", "1m", "default"], Assert.Single(result.RowsStartingWith("SweepInterval")));
        Assert.Equal(["Database", "PostgreSQL db.example:5433/tokens (user and password hidden)", "option"], Assert.Single(result.RowsStartingWith("Database")));
        Assert.DoesNotContain(Secret, result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("tokengate:", result.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Config_show_names_appsettings_json_and_the_environment_and_hides_the_sealing_key_and_certificate_password()
    {
        File.WriteAllText(Path.Combine(_workspace.Directory, "appsettings.json"), """{"TokenGate": {"ExpiredRetention": "3d", "CertificatePassword": "pfx-s3cret", "TrustedProxies": ["10.0.0.0/8"]}}""");
        var key = Convert.ToBase64String(new byte[32]);
        using var process = TokenGateProcess.Start(
            _workspace.Directory,
            new Dictionary<string, string> { ["TOKENGATE_SEALING_KEY"] = key, ["TOKENGATE_LOGIN_WINDOW"] = "30m" },
            "config", "show", "--database", _workspace.DatabasePath);
        await process.WaitForOutputAsync(new System.Text.RegularExpressions.Regex("OtlpExportInterval.*\n"), TimeSpan.FromSeconds(60));
        var output = new CliResult(0, process.Output, process.Error);

        Assert.Equal(["ExpiredRetention", "3d", "appsettings.json"], Assert.Single(output.RowsStartingWith("ExpiredRetention")));
        Assert.Equal(["TrustedProxy", "10.0.0.0/8", "appsettings.json"], Assert.Single(output.RowsStartingWith("TrustedProxy")));
        Assert.Equal(["LoginWindow", "30m", "environment"], Assert.Single(output.RowsStartingWith("LoginWindow")));
        Assert.Equal(["SealingKey", ConfigCommands.Hidden, "environment"], Assert.Single(output.RowsStartingWith("SealingKey")));
        Assert.Equal(["CertificatePassword", ConfigCommands.Hidden, "appsettings.json"], Assert.Single(output.RowsStartingWith("CertificatePassword")));
        Assert.Equal(["Database", _workspace.DatabasePath, "option"], Assert.Single(output.RowsStartingWith("Database")));
        Assert.DoesNotContain(key, process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("pfx-s3cret", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_check_opens_the_database_and_the_key_and_exits_0_without_listening()
    {
        var result = await _workspace.RunAsync("config", "check", "--urls", "http://127.0.0.1:0");

        Assert.Equal((ExitCodes.Ok, string.Empty), (result.ExitCode, result.Error));
        Assert.StartsWith($"Configuration OK: the SQLite database {_workspace.DatabasePath} is open, the sealing key ", result.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_workspace.Directory, "tokengate.key")));
    }

    [Fact]
    public async Task Config_check_fails_as_serve_does()
    {
        var result = await _workspace.RunAsync("config", "check", "--token-lifetime", "12x");

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.StartsWith("error: --token-lifetime (TokenGate:TokenLifetime): '12x'", result.Error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Output);
    }
}
