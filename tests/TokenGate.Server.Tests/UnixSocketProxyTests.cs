using System.Net;
using System.Net.Sockets;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// X-Forwarded-For from a peer on a Unix socket (issue 25, item 3): such a peer has no IP address, and ASP.NET Core's middleware
/// skips its known-proxy test for it, so it is believed only with <c>--trusted-proxy unix</c>; otherwise the header is ignored.
/// </summary>
public sealed class UnixSocketProxyTests
{
    private const string Client = "198.51.100.7";

    [Theory]
    [InlineData(null, false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("unix", true)]
    [InlineData("127.0.0.1,unix", true)]
    public async Task A_token_bound_to_an_address_validates_through_the_socket_with_that_forwarded_for_only_when_unix_peers_are_trusted(string? proxies, bool believed)
    {
        using var directory = new TempDirectory();
        var socket = Path.Combine(directory.Path, "tg.sock");
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Urls"] = $"http://127.0.0.1:0;http://unix:{socket}",
            ["TrustedProxy"] = proxies,
        });
        await server.CreateAccountAsync("alice", "alice's own password");
        using var tcp = server.CreateClient(LoopbackClient.Second);
        var token = await new TokenApiClient(tcp).GetTokenAsync("alice", "alice's own password", Client);
        Assert.True(token.Success, token.Error);
        using var viaSocket = UnixSocketClient(socket);

        var spoofed = await ValidateAsync(viaSocket, token.Token!, forwardedFor: Client);
        var bare = await ValidateAsync(viaSocket, token.Token!, forwardedFor: null);

        Assert.Equal(believed ? "true" : "Invalid token", spoofed);
        Assert.Equal("Invalid token", bare);
    }

    private static async Task<string> ValidateAsync(HttpClient http, string token, string? forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"token.php?action=validate&token={Uri.EscapeDataString(token)}");
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        using var response = await http.SendAsync(request);
        var body = ContractBody.ParseJson(await response.Content.ReadAsStringAsync());
        return body.Success ? "true" : body.Error!;
    }

    private static HttpClient UnixSocketClient(string path) =>
        new(new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        { BaseAddress = new Uri("http://localhost/") };
}
