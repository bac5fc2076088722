using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// Debian's nginx in front of TokenGate, configured with deploy/nginx-tokengate.conf as docs/DEPLOYMENT.md tells operators to:
/// tokens are bound to the real client's address, not to nginx's, and a client cannot choose its address with X-Forwarded-For.
/// </summary>
public sealed class ReverseProxyTests
{
    [Fact]
    public async Task Behind_nginx_a_token_is_bound_to_the_real_client_address_not_nginxs_and_cannot_be_spoofed()
    {
        var nginx = ExternalTool.Require("nginx-light", "/usr/sbin/nginx", "nginx");
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["TrustedProxy"] = "127.0.0.1" });
        await server.CreateAccountAsync("proxied", "proxied password");
        using var directory = new TempDirectory("tokengate-nginx");
        var (process, port) = await StartNginxAsync(nginx, directory, server.BaseAddress.Port);
        using var owned = process;
        try
        {
            var throughNginx = new Uri($"http://127.0.0.1:{port}/");
            using var fromSecond = LoopbackClient.Create(throughNginx, LoopbackClient.Second);
            using var fromFirst = LoopbackClient.Create(throughNginx, LoopbackClient.First);

            using var spoofed = new HttpRequestMessage(HttpMethod.Post, "token.php")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["action"] = "get", ["username"] = "proxied", ["password"] = "proxied password" }),
            };
            spoofed.Headers.Add("X-Forwarded-For", "6.6.6.6");
            var issued = ContractBody.ParseJson(await (await fromSecond.SendAsync(spoofed)).Content.ReadAsStringAsync());

            Assert.True(issued.Success, issued.Error);
            var token = Assert.Single(await server.Accounts.ListTokensAsync("proxied", 10, CancellationToken.None));
            Assert.Equal("127.0.0.2", token.AddressKey);
            Assert.True((await new TokenApiClient(fromSecond).ValidateAsync(issued.Token!)).Success);
            Assert.Equal("Invalid token", (await new TokenApiClient(fromFirst).ValidateAsync(issued.Token!)).Error);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Behind_nginx_its_own_refusals_answer_with_contract_bodies_and_no_password_reaches_its_error_log()
    {
        var nginx = ExternalTool.Require("nginx-light", "/usr/sbin/nginx", "nginx");
        using var directory = new TempDirectory("tokengate-nginx");

        // TokenGate is down: nothing listens on the upstream port.
        var (process, port) = await StartNginxAsync(nginx, directory, FreePort());
        using var owned = process;
        try
        {
            using var http = LoopbackClient.Create(new Uri($"http://127.0.0.1:{port}/"));
            const string Password = "nginx-must-not-log-this";

            using var down = await http.GetAsync($"token.php?action=get&username=alice&password={Password}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            Assert.Equal("application/json", down.Content.Headers.ContentType?.MediaType);
            Assert.Equal("Service unavailable", ContractBody.ParseJson(await down.Content.ReadAsStringAsync()).Error);
            Assert.Equal("1", Assert.Single(down.Headers.GetValues("Retry-After")));

            using var tooLarge = await http.PostAsync("token.php", new StringContent($"action=get&username=alice&password={Password}&pad={new string('x', 20_000)}", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
            Assert.Equal("Request too large", ContractBody.ParseJson(await tooLarge.Content.ReadAsStringAsync()).Error);

        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        // Both logs exist (nginx opened them) and neither holds the password; the global one is at "warn", as a host's is.
        foreach (var log in new[] { directory.File("error.log"), directory.File("tokengate-error.log") })
        {
            Assert.True(File.Exists(log), log);
            Assert.DoesNotContain("nginx-must-not-log-this", await File.ReadAllTextAsync(log), StringComparison.Ordinal);
        }
    }

    /// <summary>Debian's nginx with deploy/nginx-tokengate.conf (ports and the log path substituted) in front of <paramref name="upstreamPort"/>.</summary>
    private static async Task<(Process Process, int Port)> StartNginxAsync(string nginx, TempDirectory directory, int upstreamPort)
    {
        var port = FreePort();
        var site = (await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "deploy", "nginx-tokengate.conf")))
            .Replace("server 127.0.0.1:5080;", $"server 127.0.0.1:{upstreamPort};", StringComparison.Ordinal)
            .Replace("listen 80;", $"listen 127.0.0.1:{port};", StringComparison.Ordinal)
            .Replace("/var/log/nginx/tokengate-error.log", directory.File("tokengate-error.log"), StringComparison.Ordinal);
        Assert.Contains($"listen 127.0.0.1:{port};", site, StringComparison.Ordinal);
        Assert.Contains(directory.File("tokengate-error.log"), site, StringComparison.Ordinal);
        await File.WriteAllTextAsync(directory.File("site.conf"), site);
        var temp = directory.File("tmp");
        Directory.CreateDirectory(temp);
        await File.WriteAllTextAsync(directory.File("nginx.conf"), $$"""
            daemon off;
            master_process off;
            pid {{directory.File("nginx.pid")}};
            error_log {{directory.File("error.log")}} warn;
            events { worker_connections 64; }
            http {
                client_body_temp_path {{temp}}/body;
                proxy_temp_path {{temp}}/proxy;
                fastcgi_temp_path {{temp}}/fastcgi;
                uwsgi_temp_path {{temp}}/uwsgi;
                scgi_temp_path {{temp}}/scgi;
                include {{directory.File("site.conf")}};
            }
            """);

        var process = Process.Start(new ProcessStartInfo(nginx, ["-p", directory.Path, "-c", directory.File("nginx.conf")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        await WaitForPortAsync(port, process, directory.File("error.log"));
        return (process, port);
    }

    private static async Task WaitForPortAsync(int port, Process process, string errorLog)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                Assert.Fail($"nginx exited: {await process.StandardError.ReadToEndAsync()} {(File.Exists(errorLog) ? await File.ReadAllTextAsync(errorLog) : string.Empty)}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        Assert.Fail("nginx did not listen within 20 s.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
