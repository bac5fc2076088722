using System.Security.Cryptography;
using System.Text.RegularExpressions;
using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// docs/DEPLOYMENT.md's install and systemd steps, run in the order written, against deploy/tokengate.service with its paths moved
/// under a temporary folder: every file the server writes must be writable under the unit's sandbox (under a
/// <c>ReadWritePaths=</c>, and under no <c>ReadOnlyPaths=</c>; with <c>ProtectSystem=strict</c> nothing else is writable). A
/// server that had to create its key file in the read-only <c>/etc/tokengate</c> (the procedure before <c>key init</c>) fails
/// here. Only files under the moved paths are watched: the runtime's own files elsewhere are not the unit's concern.
/// </summary>
public sealed class DeploymentUnitTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly string[] MovedRoots = ["/var/lib/tokengate", "/etc/tokengate"];
    private const string PublishedDll = "/opt/tokengate/tokengate.dll";

    [Fact(Timeout = 300_000)]
    public async Task The_documented_steps_in_their_order_leave_the_server_writing_only_where_the_unit_lets_it()
    {
        var unit = SystemdUnit.Parse(await File.ReadAllTextAsync(RepositoryPaths.Of("deploy", "tokengate.service")));
        Assert.Equal("strict", unit.Single("ProtectSystem"));
        using var root = new TempDirectory("tokengate-deploy");
        string Move(string value) => MovedRoots.Aggregate(value, (text, moved) => text.Replace(moved, root.Path + moved, StringComparison.Ordinal));
        var readWrite = unit.Paths("ReadWritePaths").Select(Move).ToList();
        var readOnly = unit.Paths("ReadOnlyPaths").Select(Move).ToList();
        Assert.NotEmpty(readWrite);

        TokenGateProcess? server = null;
        Dictionary<string, string>? beforeStart = null;
        string? password = null;
        try
        {
            foreach (var step in DocumentedSteps(await File.ReadAllTextAsync(RepositoryPaths.Of("docs", "DEPLOYMENT.md"))))
            {
                var words = step.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                switch (words)
                {
                    case ["useradd", ..]:
                    case ["dotnet", "publish", ..]:
                    case ["cp", "deploy/tokengate.service", ..]:
                    case ["systemctl", "daemon-reload"]:
                        break; // the host's part: the tests run the built tokengate.dll as the current user

                    case ["install", "-d", .. var rest]:
                        foreach (var directory in rest.Where(word => word.StartsWith('/')))
                        {
                            Directory.CreateDirectory(Move(directory));
                        }

                        break;

                    case ["sudo", "-u", "tokengate", "dotnet", PublishedDll, .. var args]:
                        using (var command = TokenGateProcess.Start(Move(unit.Single("WorkingDirectory")), [.. args.Select(Move)]))
                        {
                            Assert.True(await command.WaitForExitAsync(Timeout) == ExitCodes.Ok, $"'{step}' failed:\n{command.Output}\n{command.Error}");
                            password ??= Regex.Match(command.Output, @"^Password \(shown once, keep it now\): (\S+)$", RegexOptions.Multiline) is { Success: true } m ? m.Groups[1].Value : null;
                        }

                        break;

                    case ["systemctl", "enable", "--now", "tokengate"]:
                        // The first start: the unit's ExecStart, in its WorkingDirectory, on a free port instead of 5080.
                        Assert.Null(server);
                        beforeStart = Snapshot(root.Path);
                        var exec = unit.Single("ExecStart").Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        Assert.Equal(["/usr/bin/dotnet", PublishedDll], exec[..2]);
                        var serveArgs = exec[2..].Select(Move).Select(word => word == "http://127.0.0.1:5080" ? "http://127.0.0.1:0" : word).ToArray();
                        server = TokenGateProcess.Start(Move(unit.Single("WorkingDirectory")), serveArgs);
                        await server.WaitForListeningAsync(Timeout);
                        break;

                    default:
                        Assert.Fail($"DEPLOYMENT.md has a step this test does not know how to run: '{step}'");
                        break;
                }
            }

            Assert.NotNull(server);
            Assert.NotNull(password);
            Assert.False(server.HasExited, $"the server stopped:\n{server.Output}\n{server.Error}");

            // The server writes: a token issued (credentials posted, as the unit requires), validated, deleted.
            using var http = LoopbackClient.Create(await server.WaitForListeningAsync(Timeout));
            var api = new TokenApiClient(http, mode: SendMode.PostForm);
            var issued = await api.GetTokenAsync("alice", password);
            Assert.True(issued.Success, issued.Error);
            Assert.True((await api.ValidateAsync(issued.Token!)).Success);
            Assert.True((await api.DeleteAsync(issued.Token!)).Success);
            Assert.Equal(0, await server.TerminateAsync(Timeout));
            Assert.DoesNotContain("\"LogLevel\":\"Error\"", server.Output, StringComparison.Ordinal);
        }
        finally
        {
            server?.Dispose();
        }

        var written = Changed(beforeStart!, Snapshot(root.Path));
        Assert.NotEmpty(written);
        foreach (var path in written)
        {
            Assert.True(
                readWrite.Any(allowed => IsUnder(path, allowed)) && !readOnly.Any(denied => IsUnder(path, denied)),
                $"{path} was written, but the unit makes it read-only (ReadWritePaths: {string.Join(' ', readWrite)}; ReadOnlyPaths: {string.Join(' ', readOnly)}).");
        }

        Assert.True(File.Exists(Move("/etc/tokengate/tokengate.key")), "key init did not create the key file the unit names.");
    }

    [Fact(Timeout = 120_000)]
    public async Task Systemd_analyze_verify_accepts_the_unit()
    {
        var analyze = new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists);
        if (analyze is null)
        {
            Assert.Skip("systemd-analyze is not installed (Debian package: systemd); the unit's paths are still checked by the other test.");
        }

        // verify checks that ExecStart's program exists: where dotnet is not /usr/bin/dotnet, the copy names this machine's.
        using var directory = new TempDirectory("tokengate-unit");
        var text = await File.ReadAllTextAsync(RepositoryPaths.Of("deploy", "tokengate.service"));
        if (!File.Exists("/usr/bin/dotnet"))
        {
            text = text.Replace("ExecStart=/usr/bin/dotnet ", $"ExecStart={TokenGateProcess.DotnetHost()} ", StringComparison.Ordinal);
        }

        var copy = directory.File("tokengate.service");
        await File.WriteAllTextAsync(copy, text);

        var (exitCode, output, error) = await ExternalTool.RunAsync(analyze, "verify", copy);

        Assert.True(exitCode == 0 && error.Length == 0 && output.Length == 0, $"systemd-analyze verify ({exitCode}):\n{output}\n{error}");
    }

    /// <summary>The commands of the shell blocks of sections 1 and 2 (install, systemd), one per line or per <c>&amp;&amp;</c>.</summary>
    private static IEnumerable<string> DocumentedSteps(string document)
    {
        var start = document.IndexOf("## 1.", StringComparison.Ordinal);
        var end = document.IndexOf("## 3.", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "DEPLOYMENT.md's sections 1 to 3 were not found.");
        foreach (Match block in Regex.Matches(document[start..end], @"```sh\n(.*?)```", RegexOptions.Singleline))
        {
            foreach (var line in block.Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                foreach (var command in line.Split("&&", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    yield return command;
                }
            }
        }
    }

    /// <summary>Every file under <paramref name="root"/> with a digest of its content and its size and time.</summary>
    private static Dictionary<string, string> Snapshot(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).ToDictionary(
            path => path,
            path => File.Exists(path)
                ? $"{Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)))} {File.GetLastWriteTimeUtc(path).Ticks}"
                : "directory");

    private static List<string> Changed(Dictionary<string, string> before, Dictionary<string, string> after) =>
        [.. after.Where(entry => !before.TryGetValue(entry.Key, out var was) || was != entry.Value).Select(entry => entry.Key),
            .. before.Keys.Where(path => !after.ContainsKey(path))];

    private static bool IsUnder(string path, string directory) =>
        path == directory || path.StartsWith(directory.TrimEnd('/') + "/", StringComparison.Ordinal);

    /// <summary>The [Service] settings of a unit file: continuation lines joined, comments dropped, repeated keys kept in order.</summary>
    private sealed class SystemdUnit(ILookup<string, string> settings)
    {
        public static SystemdUnit Parse(string text)
        {
            var joined = Regex.Replace(text, @"\\\n\s*", " ");
            var service = Regex.Match(joined, @"^\[Service\]\n(.*?)(?=^\[|\z)", RegexOptions.Singleline | RegexOptions.Multiline).Groups[1].Value;
            var pairs = service.Split('\n', StringSplitOptions.TrimEntries)
                .Where(line => line.Length > 0 && !line.StartsWith('#') && line.Contains('='))
                .Select(line => (Key: line[..line.IndexOf('=')], Value: line[(line.IndexOf('=') + 1)..].Trim()));
            return new SystemdUnit(pairs.ToLookup(pair => pair.Key, pair => pair.Value));
        }

        public string Single(string key) => Assert.Single(settings[key]);

        /// <summary>The paths of a path-list setting; systemd's "-" (ignore if missing) and "+" prefixes removed.</summary>
        public IEnumerable<string> Paths(string key) =>
            settings[key].SelectMany(value => value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(path => path.TrimStart('-', '+'));
    }
}
