using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace TokenGate.Testing;

/// <summary>
/// The built <c>tokengate</c> executable (tokengate.dll, copied beside the tests by a test project's reference to src/TokenGate),
/// or another built program of the repository (a sample), run as a child process with <c>dotnet</c>, in a working directory of
/// the test's choosing, its standard output and error collected as they come. It can be stopped as a service manager does (SIGTERM) or killed outright (SIGKILL), and its
/// resident memory and open file descriptors read from /proc.
/// </summary>
public sealed class TokenGateProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();
    private readonly Lock _lock = new();

    private readonly string _name;

    private TokenGateProcess(Process process, string name)
    {
        _process = process;
        _name = name;
        _process.OutputDataReceived += (_, e) => Append(_output, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_error, e.Data);
    }

    private static readonly Regex Listening = new(@"Now listening on: (http://127\.0\.0\.1:\d+)");

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_lock)
            {
                return _output.ToString();
            }
        }
    }

    public string Error
    {
        get
        {
            lock (_lock)
            {
                return _error.ToString();
            }
        }
    }

    public static TokenGateProcess Start(string workingDirectory, params string[] args) => Start(workingDirectory, environment: null, args);

    /// <summary>Starts tokengate with <paramref name="args"/> and, on top of a cleaned environment, <paramref name="environment"/>.</summary>
    public static TokenGateProcess Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Launch(workingDirectory, [TokenGateDll(), .. args], environment, "tokengate");

    /// <summary>Starts tokengate under <paramref name="umask"/> (octal, e.g. <c>000</c>), through <c>/bin/sh</c>'s <c>umask</c> and <c>exec</c>.</summary>
    public static TokenGateProcess StartUnderUmask(string workingDirectory, string umask, params string[] args) =>
        Launch(workingDirectory, [TokenGateDll(), .. args], environment: null, "tokengate", umask);

    private static string TokenGateDll()
    {
        var executable = Path.Combine(AppContext.BaseDirectory, "tokengate.dll");
        Assert.True(File.Exists(executable), $"{executable} is missing: the test project's reference to src/TokenGate should copy it.");
        return executable;
    }

    /// <summary>
    /// Starts another built program of the repository (a sample's dll) the same way: with <c>dotnet</c>, on top of a cleaned
    /// environment (no <c>TOKENGATE_*</c>, <c>ASPNETCORE_*</c>, <c>Logging__*</c> or <c>Authentication__*</c> of the runner's).
    /// </summary>
    public static TokenGateProcess StartProgram(string assembly, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        Assert.True(File.Exists(assembly), $"{assembly} is missing: build it first (the test project should reference its project).");
        return Launch(workingDirectory, [assembly, .. args], environment, Path.GetFileNameWithoutExtension(assembly));
    }

    /// <summary>
    /// Runs <c>dotnet</c> itself with <paramref name="args"/> (e.g. <c>run --project samples/ProtectedApi</c>) in
    /// <paramref name="workingDirectory"/>, as a reader of the README would type it, with the same cleaned environment.
    /// </summary>
    public static TokenGateProcess StartDotnet(string workingDirectory, params string[] args) => Launch(workingDirectory, args, environment: null, "dotnet");

    private static TokenGateProcess Launch(string workingDirectory, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, string name, string? umask = null)
    {
        var start = new ProcessStartInfo(umask is null ? DotnetHost() : "/bin/sh")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (umask is not null)
        {
            // sh -c SCRIPT NAME ARGS...: $0 is the dotnet host, "$@" the rest.
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"umask {umask} && exec \"$0\" \"$@\"");
            start.ArgumentList.Add(DotnetHost());
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // The child is configured by its arguments alone, whatever the test runner's environment holds.
        foreach (var variable in start.Environment.Keys.Where(IsConfiguration).ToList())
        {
            start.Environment.Remove(variable);
        }

        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[variable] = value;
        }

        var process = new TokenGateProcess(new Process { StartInfo = start }, name);
        process._process.Start();
        process._process.BeginOutputReadLine();
        process._process.BeginErrorReadLine();
        process._process.StandardInput.Close();
        return process;
    }

    /// <summary>Waits until the standard output matches <paramref name="pattern"/>; fails if the process exits or time runs out first.</summary>
    public async Task<Match> WaitForOutputAsync(Regex pattern, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var match = pattern.Match(Output);
            if (match.Success)
            {
                return match;
            }

            if (_process.HasExited)
            {
                await _process.WaitForExitAsync();
                match = pattern.Match(Output);
                Assert.True(match.Success, $"{_name} exited ({_process.ExitCode}) before writing /{pattern}/.\nstdout:\n{Output}\nstderr:\n{Error}");
                return match;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{_name} did not write /{pattern}/ within {timeout}.\nstdout:\n{Output}\nstderr:\n{Error}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until <c>serve</c> says where it listens (on 127.0.0.1) and returns that base address, with a trailing slash.</summary>
    public async Task<Uri> WaitForListeningAsync(TimeSpan timeout) =>
        new((await WaitForOutputAsync(Listening, timeout)).Groups[1].Value + "/");

    /// <summary>SIGKILL: the process ends at once, wherever it was, as in a crash or an OOM kill; returns when it is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>The resident set size (VmRSS in /proc/PID/status) in bytes, or null once the process is gone.</summary>
    public long? ResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>How many file descriptors the process has open (entries of /proc/PID/fd), or null once it is gone.</summary>
    public int? OpenFileDescriptors()
    {
        try
        {
            return Directory.GetFileSystemEntries($"/proc/{Id}/fd").Length;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Waits for the process to end on its own and returns the exit code; fails if it runs past <paramref name="timeout"/>.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => WaitForExitAsync(timeout, string.Empty);

    private async Task<int> WaitForExitAsync(TimeSpan timeout, string since)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{_name} did not exit within {timeout}{since}.\nstdout:\n{Output}\nstderr:\n{Error}");
        }

        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM, as a service manager or container runtime does, and returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        return await WaitForExitAsync(timeout, " of SIGTERM");
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException)
        {
            // It was never started, or is gone already.
        }

        _process.Dispose();
    }

    private static bool IsConfiguration(string name) =>
        name.StartsWith("TOKENGATE_", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("Authentication__", StringComparison.OrdinalIgnoreCase);

    /// <summary>The dotnet host of the runtime running the tests (three folders above shared/Microsoft.NETCore.App/VERSION).</summary>
    public static string DotnetHost()
    {
        var root = Path.GetFullPath(Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var host = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(host) ? host : "dotnet";
    }

    private void Append(StringBuilder buffer, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            buffer.Append(line).Append('\n');
        }
    }
}
