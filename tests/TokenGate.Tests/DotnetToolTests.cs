using System.Diagnostics;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// <c>tokengate</c> as a .NET tool, as the README installs it: <c>dotnet pack src/TokenGate</c>, then <c>dotnet tool install</c>
/// from the package it wrote, then the installed <c>tokengate</c> command runs.
/// </summary>
public sealed class DotnetToolTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    [Fact(Timeout = 900_000)]
    public async Task The_packed_tool_installs_with_dotnet_tool_install_and_runs_as_tokengate()
    {
        using var directory = new TempDirectory("tokengate-tool");
        var packages = directory.File("packages");
        var tools = directory.File("tools");

        // Packed in the configuration these tests were built in, so that the build it runs is the one already made.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Parent!.Name;
        var pack = await RunAsync(
            directory.Path,
            TokenGateProcess.DotnetHost(),
            "pack", RepositoryPaths.Of("src", "TokenGate", "TokenGate.csproj"), "-c", configuration, "-o", packages, "--disable-build-servers");
        Assert.True(pack.ExitCode == 0, $"dotnet pack failed:\n{pack.Output}\n{pack.Error}");
        var package = Assert.Single(Directory.GetFiles(packages, "*.nupkg"));
        Assert.StartsWith("TokenGate.Tool.", Path.GetFileName(package), StringComparison.Ordinal);

        // Only the package just written may be found: no other source (the machine's nuget.org, a cached older build) is asked.
        await File.WriteAllTextAsync(
            directory.File("nuget.config"),
            """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
              </packageSources>
            </configuration>
            """);
        var install = await RunAsync(
            directory.Path,
            TokenGateProcess.DotnetHost(),
            "tool", "install", "--tool-path", tools, "--add-source", packages, "--configfile", directory.File("nuget.config"), "TokenGate.Tool");
        Assert.True(install.ExitCode == 0, $"dotnet tool install failed:\n{install.Output}\n{install.Error}");
        Assert.Contains("You can invoke the tool using the following command: tokengate", install.Output, StringComparison.Ordinal);

        var installed = await RunAsync(directory.Path, Path.Combine(tools, "tokengate"), "--version");
        using var built = TokenGateProcess.Start(directory.Path, "--version");
        Assert.Equal(0, await built.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal((0, string.Empty), (installed.ExitCode, installed.Error));
        Assert.Matches(@"^\d+\.\d+\.\d+.*\+[0-9a-f]{7,40}\n$", installed.Output);
        Assert.Equal(built.Output, installed.Output);
    }

    /// <summary>Runs a program to its end in <paramref name="workingDirectory"/>; the runtime found where the tests' own runs.</summary>
    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string workingDirectory, string program, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(TokenGateProcess.DotnetHost()) is { Length: > 0 } root ? root : "/usr/share/dotnet";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} did not finish within {CommandTimeout}.");
        }

        return (process.ExitCode, (await output).Replace("\r\n", "\n", StringComparison.Ordinal), await error);
    }
}
