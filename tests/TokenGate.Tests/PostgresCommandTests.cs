using System.Net;
using System.Net.Sockets;
using TokenGate.Cli;

namespace TokenGate.Tests;

/// <summary>
/// The command line with a PostgreSQL <c>--database</c>: what it refuses before touching anything, and how an unreachable
/// database is reported — always without the password of the connection string.
/// </summary>
public sealed class PostgresCommandTests
{
    private const string Secret = "pg-s3cret-in-the-connection-string";

    [Theory]
    [InlineData("Host=127.0.0.1;Port={0};Username=tokengate;Password=" + Secret + ";Database=tokengate")]
    [InlineData("postgres://tokengate:" + Secret + "@127.0.0.1:{0}/tokengate")]
    public async Task Serve_on_PostgreSQL_without_a_shared_key_exits_2_before_connecting(string database)
    {
        var result = await CliWorkspace.InvokeAsync(["serve", "--urls", "http://127.0.0.1:0", "--database", string.Format(System.Globalization.CultureInfo.InvariantCulture, database, ClosedPort())], string.Empty);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.Contains("with a PostgreSQL database, give every instance the same sealing key: --key-file PATH", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, result.Output + result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve", "--urls", "http://127.0.0.1:0", "--key-file", "tokengate.key")]
    [InlineData("account", "list")]
    [InlineData("token", "revoke", "--all")]
    public async Task A_PostgreSQL_database_that_cannot_be_reached_exits_3_promptly_without_the_password(params string[] command)
    {
        using var directory = new Testing.TempDirectory("tokengate-pg-cli");
        var args = command.Select(arg => arg == "tokengate.key" ? directory.File(arg) : arg).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var port = ClosedPort();
        var result = await CliWorkspace.InvokeAsync([.. args, "--database", $"postgres://tokengate:{Secret}@127.0.0.1:{port}/tokengate"], string.Empty);

        Assert.Equal(ExitCodes.StorageUnavailable, result.ExitCode);
        Assert.Equal(
            $"error: The PostgreSQL database 127.0.0.1:{port}/tokengate is unavailable: Failed to connect to 127.0.0.1:{port} (Connection refused); check that PostgreSQL is running and that --database names its host and port.\n",
            result.Error);
        Assert.DoesNotContain(Secret, result.Output + result.Error, StringComparison.Ordinal);
        CliAssert.NoStackFrame(result);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=notaport;Password=" + Secret)]
    [InlineData("postgres://tokengate:" + Secret + "@127.0.0.1/tokengate?nonsense=1")]
    public async Task An_unusable_connection_string_exits_2_naming_the_option_without_the_password(string database)
    {
        var result = await CliWorkspace.InvokeAsync(["account", "list", "--database", database], string.Empty);

        Assert.Equal(ExitCodes.BadConfiguration, result.ExitCode);
        Assert.StartsWith("error: --database", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, result.Output + result.Error, StringComparison.Ordinal);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
