using System.Runtime.InteropServices;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// docs/DEPLOYMENT.md's publish command, run for real: for each supported platform the package holds that platform's native
/// SQLite and no other (it held some 30 platforms' before, 67 of 71 MB), and on this machine's platform the published server
/// starts, loads that library from its own folder, and issues and validates a token over HTTP. A publish without a platform,
/// or for an unsupported one, fails with a line that says what to type.
/// </summary>
public sealed class PublishTests : IDisposable
{
    // The ceiling is a regression alarm, not the measured size (about 5 MB; docs/DEPLOYMENT.md has the figure).
    private const long MaximumPackageBytes = 8 * 1024 * 1024;
    private static readonly string Project = RepositoryPaths.Of("src", "TokenGate", "TokenGate.csproj");
    private readonly TempDirectory _directory = new("tokengate-publish");

    public void Dispose() => _directory.Dispose();

    [Theory(Timeout = 900_000)]
    [InlineData("linux-x64", (ushort)62)]     // ELF e_machine: EM_X86_64
    [InlineData("linux-arm64", (ushort)183)]  // EM_AARCH64
    public async Task A_publish_for_a_supported_platform_holds_its_native_SQLite_only_and_on_this_platform_serves(string runtime, ushort elfMachine)
    {
        var output = Path.Combine(_directory.Path, runtime);

        var (exitCode, stdout, stderr) = await PublishAsync("-r", runtime, "--self-contained", "false", "-o", output);

        Assert.True(exitCode == 0, $"dotnet publish -r {runtime} exited {exitCode}:\n{stdout}\n{stderr}");
        var files = Directory.GetFiles(output, "*", SearchOption.AllDirectories).Select(file => Path.GetRelativePath(output, file)).ToList();
        Assert.Equal(["libe_sqlite3.so"], files.Where(IsNativeLibrary).ToList());
        Assert.DoesNotContain(files, file => file.StartsWith("runtimes" + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        Assert.Equal(elfMachine, ElfMachine(Path.Combine(output, "libe_sqlite3.so")));
        var bytes = files.Sum(file => new FileInfo(Path.Combine(output, file)).Length);
        Assert.True(bytes < MaximumPackageBytes, $"The {runtime} package is {bytes:N0} bytes; it was about 5 MB.");

        if (runtime == ThisPlatform())
        {
            await ServesAsync(output);
        }
    }

    [Theory(Timeout = 900_000)]
    [InlineData(null, "Publish tokengate for one platform: add -r linux-x64 (or -r linux-arm64) --self-contained false")]
    [InlineData("win-x64", "tokengate is not supported on win-x64; publish with -r linux-x64 or -r linux-arm64 (docs/DEPLOYMENT.md).")]
    public async Task A_publish_without_a_supported_platform_fails_saying_which_to_give(string? runtime, string message)
    {
        string[] platform = runtime is null ? [] : ["-r", runtime];

        var (exitCode, stdout, stderr) = await PublishAsync([.. platform, "-o", Path.Combine(_directory.Path, "refused")]);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(message, stdout + stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_directory.Path, "refused", "tokengate.dll")), "The refused publish still wrote a package.");
    }

    [Fact]
    public void DEPLOYMENT_md_and_the_unit_file_publish_for_a_platform_as_tested_here()
    {
        const string Command = "dotnet publish src/TokenGate -c Release -r linux-x64 --self-contained false -o /opt/tokengate";

        Assert.Contains(Command, File.ReadAllText(RepositoryPaths.Of("docs", "DEPLOYMENT.md")), StringComparison.Ordinal);
        Assert.Contains(Command, File.ReadAllText(RepositoryPaths.Of("deploy", "tokengate.service")), StringComparison.Ordinal);
    }

    /// <summary>The published server, started as the systemd unit starts it, issues a token and validates it, on the SQLite
    /// library of its own folder.</summary>
    private async Task ServesAsync(string package)
    {
        var executable = Path.Combine(package, "tokengate.dll");
        var data = Path.Combine(_directory.Path, "data");
        Directory.CreateDirectory(data);
        var database = Path.Combine(data, "tokengate.db");
        using (var add = TokenGateProcess.StartProgram(executable, data, null, "account", "add", "demo", "--password", "a long demo password", "--database", database))
        {
            Assert.True(await add.WaitForExitAsync(TimeSpan.FromMinutes(1)) == 0, $"account add failed:\n{add.Output}\n{add.Error}");
        }

        using var server = TokenGateProcess.StartProgram(executable, data, null, "serve", "--urls", "http://127.0.0.1:0", "--database", database);
        var baseAddress = await server.WaitForListeningAsync(TimeSpan.FromMinutes(1));
        using var http = LoopbackClient.Create(baseAddress);
        var api = new TokenApiClient(http, mode: SendMode.PostForm);

        var token = (await api.GetTokenAsync("demo", "a long demo password")).Token;
        Assert.NotNull(token);
        var validation = await api.ValidateAsync(token);

        Assert.True(validation.Success, $"validate answered {validation}");
        var maps = await File.ReadAllTextAsync($"/proc/{server.Id}/maps");
        Assert.Contains(Path.Combine(package, "libe_sqlite3.so"), maps, StringComparison.Ordinal);
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromMinutes(1)));
    }

    /// <summary>Runs <c>dotnet publish</c> of src/TokenGate in Release, with no build server left behind.</summary>
    private static Task<(int ExitCode, string Output, string Error)> PublishAsync(params string[] args) =>
        ExternalTool.RunAsync(TokenGateProcess.DotnetHost(), ["publish", Project, "-c", "Release", "--disable-build-servers", "-nologo", .. args]);

    private static bool IsNativeLibrary(string file) =>
        file.EndsWith(".so", StringComparison.Ordinal) || file.EndsWith(".dylib", StringComparison.Ordinal)
        || file.EndsWith(".a", StringComparison.Ordinal) || Path.GetFileName(file).StartsWith("e_sqlite3", StringComparison.Ordinal);

    private static ushort ElfMachine(string file)
    {
        var header = File.ReadAllBytes(file).AsSpan(0, 20);
        Assert.True(header[..4].SequenceEqual("\u007FELF"u8), $"{file} is not an ELF file.");
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
    }

    private static string? ThisPlatform() => !OperatingSystem.IsLinux() ? null : RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "linux-x64",
        Architecture.Arm64 => "linux-arm64",
        _ => null,
    };
}
