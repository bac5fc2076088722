namespace TokenGate.Cli;

/// <summary>
/// <c>tokengate completion bash|zsh</c>: a self-contained completion script. It asks tokengate itself what may come next
/// through System.CommandLine's <c>[suggest:POSITION]</c> directive, so it knows every command and option of the installed
/// build, and needs no dotnet-suggest.
/// </summary>
internal static class CompletionCommand
{
    public const string Bash = """
        # tokengate completion for bash. Load it with: source <(tokengate completion bash)
        _tokengate_complete() {
            local line="${COMP_LINE:0:COMP_POINT}"
            local rest="${line#"${COMP_WORDS[0]}"}"
            rest="${rest#"${rest%%[![:space:]]*}"}"
            local IFS=$'\n'
            COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "[suggest:${#rest}]" "$rest" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}"))
        }
        complete -o default -F _tokengate_complete tokengate

        """;

    public const string Zsh = """
        #compdef tokengate
        # tokengate completion for zsh. Load it with: source <(tokengate completion zsh)
        _tokengate() {
            local rest="${(j: :)words[2,CURRENT]}"
            local -a suggestions
            suggestions=(${(f)"$("${words[1]}" "[suggest:${#rest}]" "$rest" 2>/dev/null)"})
            compadd -a suggestions
        }
        compdef _tokengate tokengate

        """;

    public static Command Build()
    {
        var shell = new Argument<string>("SHELL") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var command = new Command("completion", "Print a shell completion script: source <(tokengate completion bash), or zsh.") { shell };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await parse.InvocationConfiguration.Output.WriteAsync(parse.GetValue(shell) == "zsh" ? Zsh : Bash);
            return ExitCodes.Ok;
        });
        return command;
    }
}
