using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// The README's "Protecting an API" walkthrough as a reader types it: the quick-start server (<c>serve --demo</c>, its database
/// in <c>./data/</c>) and <c>dotnet run --project samples/ProtectedApi</c> started from the same directory, which is the
/// repository root in the README and a temporary directory here (so the test writes nothing into the checkout). Only the
/// ports differ: both are free ones instead of 5080 and 5090.
/// </summary>
public sealed class ProtectedApiWalkthroughTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private static readonly Regex DemoPassword = new(@"^  password: (\S+)$", RegexOptions.Multiline);

    [Fact(Timeout = 300_000)]
    public async Task The_local_mode_walkthrough_works_from_the_directory_the_server_was_started_in()
    {
        using var directory = new TempDirectory("tokengate-walkthrough");
        using var server = TokenGateProcess.Start(directory.Path, "serve", "--demo", "--urls", "http://127.0.0.1:0");
        var tokenGate = await server.WaitForListeningAsync(StartTimeout);
        var password = (await server.WaitForOutputAsync(DemoPassword, StartTimeout)).Groups[1].Value;
        Assert.True(File.Exists(Path.Combine(directory.Path, "data", "tokengate.db")));

        var apiUrl = $"http://127.0.0.1:{FreePort()}";
        using var api = TokenGateProcess.StartDotnet(directory.Path, RunProtectedApi("--urls", apiUrl));
        await api.WaitForOutputAsync(new Regex("Now listening on: " + Regex.Escape(apiUrl)), StartTimeout);

        using var http = LoopbackClient.Create(new Uri(apiUrl + "/"));
        using var tokens = LoopbackClient.Create(tokenGate);
        using var issued = await tokens.PostAsync("token.php", new FormUrlEncodedContent([new("action", "get"), new("username", "demo"), new("password", password)]));
        var token = JsonDocument.Parse(await issued.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;

        using var byQuery = await http.GetAsync($"whoami?token={token}");
        Assert.Equal(HttpStatusCode.OK, byQuery.StatusCode);
        Assert.Equal("demo", JsonDocument.Parse(await byQuery.Content.ReadAsStringAsync()).RootElement.GetProperty("account").GetString());

        using var byHeader = new HttpRequestMessage(HttpMethod.Get, "whoami") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(byHeader)).StatusCode);

        using var unknown = await http.GetAsync("whoami?token=0123456789abcdef0123456789abcdef01234567");
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("Bearer error=\"invalid_token\", error_description=\"The token is invalid\"", unknown.Headers.WwwAuthenticate.ToString());
    }

    [Fact(Timeout = 300_000)]
    public async Task From_a_directory_without_the_servers_database_the_api_refuses_to_start_with_one_line()
    {
        using var directory = new TempDirectory("tokengate-walkthrough");

        using var api = TokenGateProcess.StartDotnet(directory.Path, RunProtectedApi("--urls", $"http://127.0.0.1:{FreePort()}"));
        var exitCode = await api.WaitForExitAsync(StartTimeout);

        var database = Path.Combine(directory.Path, "data", "tokengate.db");
        Assert.Equal(2, exitCode);
        Assert.Equal(
            $"error: TokenGate scheme 'TokenGate': Database: there is no TokenGate database at {database}; start the TokenGate server first (it creates the file), or set Database to the server's --database (a relative path is from the current directory, {directory.Path}).\n",
            api.Error);
        Assert.False(Directory.Exists(Path.Combine(directory.Path, "data")));
    }

    /// <summary><c>dotnet run --project samples/ProtectedApi</c>, built with the tests (this project references it), in their configuration.</summary>
    private static string[] RunProtectedApi(params string[] args) =>
        ["run", "--project", RepositoryPaths.Of("samples", "ProtectedApi"), "--no-build", "-c", Configuration(), "--", .. args];

    private static string Configuration() =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
