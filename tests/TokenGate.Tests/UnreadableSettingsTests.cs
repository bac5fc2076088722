using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// The start-up failure of an <c>appsettings.json</c> the user may not read: the real executable, refused by the file system.
/// Root reads any file, so as root the executable (copied where any user may read it) runs as <c>nobody</c>.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class UnreadableSettingsTests
{
    [Fact(Timeout = 120_000)]
    public async Task An_appsettings_json_the_user_may_not_read_exits_2_with_one_line_and_no_stack_trace()
    {
        using var directory = new TempDirectory("tokengate-unreadable");
        var work = directory.File("work");
        Directory.CreateDirectory(work);
        var settings = Path.Combine(work, "appsettings.json");
        await File.WriteAllTextAsync(settings, """{ "TokenGate": { "TokenLifetime": "1h" } }""", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(settings, UnixFileMode.None);

        string[] check = ["config", "check", "--database", Path.Combine(work, "tokengate.db")];
        var app = AppContext.BaseDirectory;
        string[] asUser = [];
        if (Environment.UserName == "root")
        {
            app = CopyOfTheExecutable(directory.File("app"));
            foreach (var folder in new[] { directory.Path, app, work })
            {
                File.SetUnixFileMode(folder, (UnixFileMode)0b111_111_111);
            }

            asUser = [ExternalTool.Require("util-linux", "runuser"), "-u", "nobody", "--"];
        }

        string[] command = [.. asUser, "sh", "-c", "cd \"$0\" && exec dotnet \"$@\"", work, Path.Combine(app, "tokengate.dll"), .. check];
        var result = await ExternalTool.RunAsync(command[0], command[1..]);

        Assert.True(result.ExitCode == ExitCodes.BadConfiguration, $"exit {result.ExitCode}\nstdout:\n{result.Output}\nstderr:\n{result.Error}");
        Assert.Equal(
            $"error: cannot read a configuration file: Access to the path '{settings}' is denied; make it readable by this user, or remove it.\n",
            result.Error);
        CliAssert.NoStackFrame(result.Output, result.Error);
    }

    /// <summary>tokengate.dll and what it loads (the assemblies, their .json files, Linux's native SQLite) in a folder of its own.</summary>
    private static string CopyOfTheExecutable(string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory).Where(f => f.EndsWith(".dll", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64");
        foreach (var file in Directory.EnumerateFiles(native, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(target, Path.GetRelativePath(AppContext.BaseDirectory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }

        foreach (var folder in Directory.EnumerateDirectories(target, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101);
        }

        return target;
    }
}
