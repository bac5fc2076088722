using System.Text.RegularExpressions;
using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>Shell completion (<c>tokengate completion bash|zsh</c>) and <c>--version</c>, which names the commit built.</summary>
public sealed class CompletionTests
{
    [Fact]
    public async Task The_bash_script_is_valid_bash()
    {
        using var directory = new TempDirectory("tokengate-completion");
        var script = directory.File("tokengate.bash");
        File.WriteAllText(script, (await CliWorkspace.InvokeAsync(["completion", "bash"], string.Empty)).Output);

        var (exitCode, _, error) = await ExternalTool.RunAsync("bash", "-n", script);

        Assert.Equal((0, string.Empty), (exitCode, error));
    }

    [Fact]
    public async Task The_zsh_script_registers_its_function()
    {
        var result = await CliWorkspace.InvokeAsync(["completion", "zsh"], string.Empty);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.StartsWith("#compdef tokengate\n", result.Output, StringComparison.Ordinal);
        Assert.Contains("compdef _tokengate tokengate", result.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Completing_tokengate_acc_in_bash_suggests_account()
    {
        using var directory = new TempDirectory("tokengate-completion");
        var script = directory.File("tokengate.bash");
        File.WriteAllText(script, (await CliWorkspace.InvokeAsync(["completion", "bash"], string.Empty)).Output);
        var executable = directory.File("tokengate");
        File.WriteAllText(executable, $"#!/bin/sh\nexec '{TokenGateProcess.DotnetHost()}' '{Path.Combine(AppContext.BaseDirectory, "tokengate.dll")}' \"$@\"\n");
        File.SetUnixFileMode(executable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var (exitCode, output, error) = await ExternalTool.RunAsync(
            "bash", "-c", $"source '{script}'; COMP_LINE='{executable} acc'; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=('{executable}' acc); COMP_CWORD=1; _tokengate_complete; printf '%s\\n' \"${{COMPREPLY[@]}}\"");

        Assert.Equal((0, string.Empty), (exitCode, error));
        Assert.Equal("account\n", output);
    }

    [Fact]
    public async Task The_suggest_directive_completes_commands()
    {
        var result = await CliWorkspace.InvokeAsync(["[suggest:4]", "conf"], string.Empty);

        Assert.Equal("config", result.Output.Trim());
    }

    [Fact(Timeout = 120_000)]
    public async Task Version_names_the_commit_it_was_built_from()
    {
        using var directory = new TempDirectory("tokengate-version");
        using var process = TokenGateProcess.Start(directory.Path, "--version");

        var match = await process.WaitForOutputAsync(new Regex(@"^\d+\.\d+\.\d+.*\+([0-9a-f]{7,40})$", RegexOptions.Multiline), TimeSpan.FromSeconds(60));

        Assert.Matches("^[0-9a-f]{7,40}$", match.Groups[1].Value);
    }
}
