using System.Net;
using System.Text.RegularExpressions;
using TokenGate.Testing;

namespace TokenGate.OperatorConsole.Tests;

/// <summary>Where the console answers: the decision, and real servers with the console off and on a listener of its own.</summary>
public sealed partial class ConsoleListenerTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5080", null, null, ConsolePlacement.ApiListener)]
    [InlineData("http://localhost:5080;http://[::1]:5080", null, null, ConsolePlacement.ApiListener)]
    [InlineData("http://0.0.0.0:5080", null, null, ConsolePlacement.Off)]
    [InlineData("http://*:5080", null, null, ConsolePlacement.Off)]
    [InlineData("http://127.0.0.1:5080;http://203.0.113.5:5080", null, null, ConsolePlacement.Off)]
    [InlineData("http://unix:/run/tokengate/tg.sock", null, null, ConsolePlacement.Off)]
    [InlineData("http://0.0.0.0:5080", true, null, ConsolePlacement.ApiListener)]
    [InlineData("http://127.0.0.1:5080", false, null, ConsolePlacement.Off)]
    [InlineData("http://0.0.0.0:5080", null, "http://10.0.0.5:5081", ConsolePlacement.OwnListener)]
    [InlineData("http://127.0.0.1:5080", true, "http://127.0.0.1:5081", ConsolePlacement.OwnListener)]
    [InlineData("http://0.0.0.0:5080", false, "http://10.0.0.5:5081", ConsolePlacement.Off)]
    public void The_console_is_on_the_api_listener_only_when_it_is_loopback_or_turned_on(string urls, bool? enabled, string? consoleUrls, ConsolePlacement expected) =>
        Assert.Equal(expected, new ConsoleOptions { Enabled = enabled, Urls = consoleUrls }.Placement(urls));

    [Fact(Timeout = 120_000)]
    public async Task With_console_urls_the_console_answers_only_on_its_own_listener_and_token_php_only_on_the_api_listener()
    {
        using var directory = new TempDirectory();
        using var process = TokenGateProcess.Start(directory.Path, ConsoleServer.Environment(), "serve", "--urls", "http://127.0.0.1:0", "--console-urls", "http://127.0.0.1:0", "--database", directory.File("tokengate.db"));
        var api = await process.WaitForListeningAsync(TimeSpan.FromSeconds(60));
        var console = new Uri((await process.WaitForOutputAsync(OwnListener(), TimeSpan.FromSeconds(30))).Groups[1].Value + "/");
        Assert.NotEqual(api, console);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(api, "console/login"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(api, "console"))).StatusCode);
        var login = await http.GetAsync(new Uri(console, "console/login"));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Equal(TokenGateConsole.ContentSecurityPolicy, login.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", login.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(HttpStatusCode.Redirect, (await http.GetAsync(new Uri(console, "console"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(console, "token.php?action=validate&token=x"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(api, "token.php?action=validate&token=x"))).StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Turned_off_the_console_is_not_served_even_on_loopback()
    {
        using var directory = new TempDirectory();
        var environment = ConsoleServer.Environment();
        environment["TOKENGATE_CONSOLE"] = "false";
        using var process = TokenGateProcess.Start(directory.Path, environment, "serve", "--urls", "http://127.0.0.1:0", "--database", directory.File("tokengate.db"));
        var api = await process.WaitForListeningAsync(TimeSpan.FromSeconds(60));
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var response = await http.GetAsync(new Uri(api, "console/login"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(response.Headers.Contains("Content-Security-Policy"));
    }

    [Fact(Timeout = 120_000)]
    public async Task Serve_demo_prints_where_the_console_answers()
    {
        using var directory = new TempDirectory();
        using var process = TokenGateProcess.Start(directory.Path, ConsoleServer.Environment(), "serve", "--demo", "--urls", "http://127.0.0.1:0", "--database", directory.File("tokengate.db"));
        var api = await process.WaitForListeningAsync(TimeSpan.FromSeconds(60));
        var printed = (await process.WaitForOutputAsync(DemoConsoleLine(), TimeSpan.FromSeconds(30))).Groups[1].Value;
        Assert.Equal(new Uri(api, "console").ToString(), printed);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(printed + "/login")).StatusCode);
    }

    [GeneratedRegex(@"Operator console: (\S+)")]
    private static partial Regex DemoConsoleLine();

    [GeneratedRegex(@"Serving the operator console on its own listener at (http://127\.0\.0\.1:\d+)/console")]
    private static partial Regex OwnListener();
}
