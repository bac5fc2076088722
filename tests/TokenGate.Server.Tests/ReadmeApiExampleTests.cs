using System.Text.RegularExpressions;
using TokenGate.Contract;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// The README's API section, run as written: every <c>curl</c> line of its examples, in order, with curl against a real server
/// on loopback (<c>$T</c> its token.php, <c>$PW</c> the demo account's password, updated by the README's own <c>PW=</c> line),
/// each answer compared with the one the README prints below the command. The README's example tokens stand for the tokens the
/// server really hands out: a token shown in a <c>get</c>'s answer is the one later lines use, so a line that uses a token an
/// earlier line deleted gets the server's real answer to that, not the README's.
/// </summary>
public sealed partial class ReadmeApiExampleTests
{
    private const string DemoPassword = "the demo password";

    [Fact(Timeout = 120_000)]
    public async Task Every_curl_line_of_the_API_section_answers_what_the_README_shows_in_order()
    {
        var curl = ExternalTool.Require("curl", "curl");
        await using var server = await TokenGateTestServer.StartAsync();
        await server.CreateAccountAsync("demo", DemoPassword);
        var endpoint = new Uri(server.BaseAddress, "token.php").AbsoluteUri;

        var password = DemoPassword;
        var realTokens = new Dictionary<string, string>(StringComparer.Ordinal);  // the README's example token -> the server's
        var steps = ApiSectionSteps();
        Assert.True(steps.Count(step => step.Command.StartsWith("curl ", StringComparison.Ordinal)) >= 9, "The API section's examples were not found.");

        foreach (var step in steps)
        {
            if (PasswordAssignment().Match(step.Command) is { Success: true } assignment)
            {
                password = assignment.Groups[1].Value;
                continue;
            }

            var command = step.Command.Replace("$T", endpoint, StringComparison.Ordinal).Replace("\"$PW\"", $"'{password}'", StringComparison.Ordinal);
            command = realTokens.Aggregate(command, (text, pair) => text.Replace(pair.Key, pair.Value, StringComparison.Ordinal));
            Assert.DoesNotContain("$", command, StringComparison.Ordinal);

            var (exitCode, output, error) = await ExternalTool.RunAsync("bash", "-c", command.Replace("curl ", curl + " ", StringComparison.Ordinal));
            Assert.True(exitCode == 0, $"{step.Command}\nexited {exitCode}: {error}");
            if (step.Answer is null)
            {
                continue;
            }

            // A token the README shows for the first time stands for the one this answer holds.
            if (TokenInAnswer().Match(step.Answer) is { Success: true } shown && TokenInAnswer().Match(output) is { Success: true } real
                && !realTokens.ContainsKey(shown.Groups[1].Value))
            {
                realTokens[shown.Groups[1].Value] = real.Groups[1].Value;
            }

            var answer = realTokens.Aggregate(output, (text, pair) => text.Replace(pair.Value, pair.Key, StringComparison.Ordinal));
            Assert.True(
                WithoutExpiry(step.Answer) == WithoutExpiry(answer.TrimEnd('\n')),
                $"README: {step.Command}\nshows:\n{step.Answer}\nthe server answered:\n{answer}");
        }
    }

    [Fact]
    public void The_error_table_names_every_error_text_the_server_answers()
    {
        var readme = File.ReadAllText(RepositoryPaths.Of("README.md"));
        var table = readme[readme.IndexOf("### Errors", StringComparison.Ordinal)..readme.IndexOf("## Configuration", StringComparison.Ordinal)];
        var texts = typeof(ContractErrors).GetFields().Where(field => field.IsLiteral).Select(field => (string)field.GetValue(null)!)
            .Concat(typeof(ContractArgumentNames).GetFields().Where(field => field.IsLiteral).Select(field => ContractErrors.BadArgument((string)field.GetValue(null)!)));

        foreach (var text in texts)
        {
            var shown = text.StartsWith("Bad argument: ", StringComparison.Ordinal) && text != "Bad argument: action"
                ? $"/ `{text["Bad argument: ".Length..]}`"
                : $"`{text}`";
            Assert.True(table.Contains(shown, StringComparison.Ordinal), $"README's error table does not list {text} ({shown}).");
        }

        Assert.Contains("HTTP 429", table, StringComparison.Ordinal);
        Assert.Contains("503", table, StringComparison.Ordinal);
    }

    /// <summary>The commands of the sh blocks between "## The API" and the next "## " heading, each with the answer lines
    /// (<c># {</c> or <c># &lt;</c>) right below it, if any.</summary>
    private static List<(string Command, string? Answer)> ApiSectionSteps()
    {
        var lines = File.ReadAllLines(RepositoryPaths.Of("README.md"));
        var start = Array.IndexOf(lines, "## The API");
        Assert.True(start >= 0, "README.md has no '## The API' section.");
        var steps = new List<(string Command, string? Answer)>();
        var inBlock = false;
        for (var i = start + 1; i < lines.Length && !lines[i].StartsWith("## ", StringComparison.Ordinal); i++)
        {
            if (lines[i].StartsWith("```", StringComparison.Ordinal))
            {
                inBlock = lines[i] == "```sh";
                continue;
            }

            if (!inBlock || !(lines[i].StartsWith("curl ", StringComparison.Ordinal) || PasswordAssignment().IsMatch(lines[i])))
            {
                continue;
            }

            var answer = new List<string>();
            while (i + 1 < lines.Length && (lines[i + 1].StartsWith("# {", StringComparison.Ordinal) || lines[i + 1].StartsWith("# <", StringComparison.Ordinal)))
            {
                answer.Add(lines[++i][2..]);
            }

            steps.Add((lines[i - answer.Count], answer.Count == 0 ? null : string.Join("\n", answer)));
        }

        return steps;
    }

    private static string WithoutExpiry(string answer) => Expiry().Replace(answer, "${1}EXPIRE${2}");

    [GeneratedRegex("""^PW='([^']*)'""")]
    private static partial Regex PasswordAssignment();

    [GeneratedRegex("""(?:"token":"|<token>)([0-9a-f]{40})""")]
    private static partial Regex TokenInAnswer();

    [GeneratedRegex("""("expire":|<expire>)\d+(,|\}|</expire>)""")]
    private static partial Regex Expiry();
}
