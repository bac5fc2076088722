using System.Diagnostics;
using Xunit;

namespace TokenGate.Testing;

/// <summary>
/// Tests that need a program from Debian's packages (nginx, node, PostgreSQL). In CI (CI=true) a missing program fails the test:
/// .ci/run installs them, so a missing one is a broken CI. Elsewhere the test is skipped and says what to install.
/// </summary>
public static class ExternalTool
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The first existing path among <paramref name="candidates"/> (or found on PATH), or a skip/fail.</summary>
    public static string Require(string package, params string[] candidates)
    {
        foreach (var candidate in candidates)
        {
            if (Path.IsPathRooted(candidate) ? File.Exists(candidate) : FindOnPath(candidate) is not null)
            {
                return Path.IsPathRooted(candidate) ? candidate : FindOnPath(candidate)!;
            }
        }

        var message = $"This test needs {string.Join(" or ", candidates)} (Debian package: {package}); install it with: apt-get install -y {package}";
        if (InCi)
        {
            Assert.Fail(message + ". CI must install it (.ci/run).");
        }

        Assert.Skip(message + ".");
        return string.Empty;
    }

    /// <summary>Runs <paramref name="program"/> with <paramref name="args"/> to its end and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}
