using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// A newcomer's first minutes, with the real executable: <c>tokengate serve --demo</c> prints where it listens and a demo
/// password; that password gets tokens over HTTP, in JSON and XML; SIGTERM stops it cleanly; a second start prints no password.
/// </summary>
public sealed class ServeProcessTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);
    private static readonly Regex Listening = new(@"Now listening on: (http://127\.0\.0\.1:\d+)");
    private static readonly Regex DemoPassword = new(@"^  password: (\S+)$", RegexOptions.Multiline);
    private static readonly Regex AlreadyExists = new("the account 'demo' already exists");
    private static readonly Regex OperatorPassword = new(@"^TokenGate console operator created .*\n  username: admin\n  password: (\S+)$", RegexOptions.Multiline);
    private static readonly Regex OperatorExists = new("the console operator 'admin' already exists");

    [Fact(Timeout = 180_000)]
    [UnsupportedOSPlatform("windows")]
    public async Task Serve_demo_prints_working_credentials_stops_cleanly_on_SIGTERM_and_prints_no_password_on_the_next_start()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Sends SIGTERM with kill(1) and checks Unix file modes.");
        }

        using var directory = new TempDirectory("tokengate-process");
        var database = directory.File("tokengate.db");
        string[] args = ["serve", "--demo", "--urls", "http://127.0.0.1:0", "--database", database];
        string password;
        string operatorPassword;

        using (var first = TokenGateProcess.Start(directory.Path, args))
        {
            var baseUrl = (await first.WaitForOutputAsync(Listening, StartTimeout)).Groups[1].Value;
            password = (await first.WaitForOutputAsync(DemoPassword, StartTimeout)).Groups[1].Value;
            Assert.Contains("  username: demo\n", first.Output, StringComparison.Ordinal);
            // The example command follows the password line: waited for, as the output is read while the server writes it.
            await first.WaitForOutputAsync(new Regex(Regex.Escape($"-d username=demo -d password={password} {baseUrl}/token.php")), StartTimeout);
            operatorPassword = (await first.WaitForOutputAsync(OperatorPassword, StartTimeout)).Groups[1].Value;
            Assert.NotEqual(password, operatorPassword);

            await UseTheDemoAccountAsync(new Uri(baseUrl + "/"), password);

            Assert.Equal(0, await first.TerminateAsync(StopTimeout));
            Assert.Equal(string.Empty, first.Error);
        }

        Assert.True(File.Exists(database));
        var keyFile = directory.File("tokengate.key");
        Assert.True(File.Exists(keyFile), "serve should create the sealing key file beside the database.");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));

        using (var second = TokenGateProcess.Start(directory.Path, args))
        {
            await second.WaitForOutputAsync(Listening, StartTimeout);
            await second.WaitForOutputAsync(AlreadyExists, StartTimeout);
            await second.WaitForOutputAsync(OperatorExists, StartTimeout);

            Assert.Equal(0, await second.TerminateAsync(StopTimeout));
            Assert.DoesNotMatch(DemoPassword, second.Output);
            Assert.DoesNotContain(password, second.Output, StringComparison.Ordinal);
            Assert.Contains("account passwd demo", second.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(operatorPassword, second.Output, StringComparison.Ordinal);
            Assert.Contains("operator passwd admin", second.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("was shown", second.Output, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task Serve_demo_on_a_port_in_use_creates_no_account_so_the_next_start_prints_the_password()
    {
        using var directory = new TempDirectory("tokengate-process");
        var database = directory.File("tokengate.db");
        using (var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            holder.Start();
            var busy = $"http://127.0.0.1:{((System.Net.IPEndPoint)holder.LocalEndpoint).Port}";
            using var failed = TokenGateProcess.Start(directory.Path, "serve", "--demo", "--urls", busy, "--database", database);
            using var exited = new CancellationTokenSource(StartTimeout);
            while (!failed.HasExited)
            {
                await Task.Delay(50, exited.Token);
            }

            Assert.Equal(2, failed.ExitCode);
            Assert.StartsWith($"error: cannot listen on {busy}: the address is already in use", failed.Error, StringComparison.Ordinal);
            Assert.DoesNotMatch(DemoPassword, failed.Output);
        }

        // Nothing was created: the account list (same database) is empty.
        var list = await CliWorkspace.InvokeAsync(["account", "list", "--database", database], string.Empty);
        Assert.Equal(0, list.ExitCode);
        Assert.DoesNotContain("demo", list.Output, StringComparison.Ordinal);

        using var second = TokenGateProcess.Start(directory.Path, "serve", "--demo", "--urls", "http://127.0.0.1:0", "--database", database);
        var baseUrl = (await second.WaitForOutputAsync(Listening, StartTimeout)).Groups[1].Value;
        var password = (await second.WaitForOutputAsync(DemoPassword, StartTimeout)).Groups[1].Value;
        Assert.DoesNotMatch(AlreadyExists, second.Output);
        using var http = LoopbackClient.Create(new Uri(baseUrl + "/"));
        Assert.True((await new TokenApiClient(http).GetTokenAsync("demo", password)).Success);
    }

    [Fact(Timeout = 180_000)]
    [UnsupportedOSPlatform("windows")]
    public async Task Serve_with_json_logs_and_the_request_log_writes_one_json_object_per_line_and_no_secret()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Sends SIGTERM with kill(1).");
        }

        using var directory = new TempDirectory("tokengate-process");
        var database = directory.File("tokengate.db");
        Assert.Equal(0, (await CliWorkspace.InvokeAsync(["account", "add", "jason", "--password", "jason's password", "--database", database], string.Empty)).ExitCode);

        string token;
        using (var server = TokenGateProcess.Start(directory.Path, "serve", "--urls", "http://127.0.0.1:0", "--database", database, "--log-format", "json", "--request-log"))
        {
            var baseUrl = (await server.WaitForOutputAsync(Listening, StartTimeout)).Groups[1].Value;
            using var http = LoopbackClient.Create(new Uri(baseUrl + "/"));
            token = ContractBody.ParseJson(await http.GetStringAsync("token.php?action=get&username=jason&password=jason%27s%20password")).Token!;
            await http.GetStringAsync($"token.php?action=validate&token={token}");
            await http.GetStringAsync("token.php?action=get&username=jason&password=wrong%20password");
            Assert.Equal(0, await server.TerminateAsync(StopTimeout));

            var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.NotEmpty(lines);
            var documents = lines.Select(line => System.Text.Json.JsonDocument.Parse(line)).ToList();
            Assert.All(documents, d => Assert.True(d.RootElement.TryGetProperty("Category", out _)));
            var requests = documents.Where(d => d.RootElement.GetProperty("Category").GetString() == "TokenGate.Requests").ToList();
            Assert.Equal(3, requests.Count);
            Assert.Contains("password=***", requests[0].RootElement.GetProperty("Message").GetString(), StringComparison.Ordinal);
            Assert.Contains("token=id:", requests[1].RootElement.GetProperty("Message").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain(token, server.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("jason's password", server.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("jason%27s%20password", server.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("wrong", server.Output, StringComparison.Ordinal);
        }
    }

    /// <summary>Everything the demo block invites a newcomer to try, over HTTP from 127.0.0.1, and from 127.0.0.2 where it must fail.</summary>
    private static async Task UseTheDemoAccountAsync(Uri baseAddress, string password)
    {
        using var fromFirst = LoopbackClient.Create(baseAddress, LoopbackClient.First);
        using var fromSecond = LoopbackClient.Create(baseAddress, LoopbackClient.Second);
        var json = new TokenApiClient(fromFirst, mode: SendMode.PostForm);
        var xml = new TokenApiClient(fromFirst, mode: SendMode.PostForm, format: "xml");
        var elsewhere = new TokenApiClient(fromSecond, mode: SendMode.PostForm);

        var issued = await json.IssueAsync("demo", password);
        var inXml = await xml.IssueAsync("demo", password);
        Assert.Equal((issued.Token, issued.Expire), (inXml.Token, inXml.Expire));

        var validated = await json.ValidateAsync(issued.Token!);
        Assert.True(validated.Success);
        Assert.Equal(issued.Expire, validated.Expire);
        Assert.Equal("Invalid token", (await elsewhere.ValidateAsync(issued.Token!)).Error);

        Assert.True((await json.DeleteAsync(issued.Token!)).Success);
        Assert.Equal("Invalid token", (await json.ValidateAsync(issued.Token!)).Error);

        var next = await json.IssueAsync("demo", password);
        Assert.NotEqual(issued.Token, next.Token);
        Assert.True((await json.NewPasswordAsync(next.Token!, "a-new-demo-password")).Success);
        Assert.Equal("Authentication failure", (await json.GetTokenAsync("demo", password)).Error);
        Assert.True((await json.ValidateAsync(next.Token!)).Success);
        await json.IssueAsync("demo", "a-new-demo-password");
    }
}
