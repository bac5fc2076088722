using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// The start-up failure of a port the user may not bind: the real executable, refused by the kernel. Root may bind any port, so
/// as root the server runs under <c>setpriv</c> without CAP_NET_BIND_SERVICE, which is what an unprivileged user lacks.
/// </summary>
public sealed class PortNotPermittedTests : IDisposable
{
    private readonly CliWorkspace _workspace = new();

    public void Dispose() => _workspace.Dispose();

    [Fact(Timeout = 120_000)]
    public async Task Serve_on_a_port_below_1024_without_the_right_exits_2_with_one_line_and_no_stack_trace()
    {
        string[] serve = ["serve", "--urls", "http://127.0.0.1:1", "--database", _workspace.DatabasePath];
        var executable = Path.Combine(AppContext.BaseDirectory, "tokengate.dll");
        string[] withoutTheRight = Environment.UserName == "root" ? [ExternalTool.Require("util-linux", "setpriv"), "--bounding-set", "-net_bind_service"] : [];
        string[] command = [.. withoutTheRight, "dotnet", executable, .. serve];
        var (exitCode, output, error) = await ExternalTool.RunAsync(command[0], command[1..]);

        Assert.Equal(ExitCodes.BadConfiguration, exitCode);
        Assert.Equal(
            "error: cannot listen: permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE, so choose a port above 1023 with --urls.\n",
            error);
        CliAssert.NoStackFrame(output, error);
    }
}
