using System.Net;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>X-Forwarded-For is believed only from configured proxies, and then only up to the first address that is not one.</summary>
public sealed class TrustedProxyTests
{
    private static async Task<string?> BindAsync(TokenGateTestServer server, IPAddress source, string? forwardedFor, string name, string password)
    {
        using var http = server.CreateClient(source);
        using var request = new HttpRequestMessage(HttpMethod.Post, "token.php")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["action"] = "get", ["username"] = name, ["password"] = password }),
        };
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        var body = ContractBody.ParseJson(await (await http.SendAsync(request)).Content.ReadAsStringAsync());
        Assert.True(body.Success, body.Error);
        return (await server.Accounts.ListTokensAsync(name, 10, CancellationToken.None))
            .Single(t => Tokens.TokenValue.IdOf(Tokens.TokenValue.ComputeDigest(body.Token!)) == t.Id).AddressKey;
    }

    [Fact]
    public async Task Forwarded_for_from_a_trusted_proxy_binds_the_token_to_the_client_behind_it()
    {
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["TrustedProxy"] = "127.0.0.1" });
        await server.CreateAccountAsync("alice", "alice password");

        Assert.Equal("10.9.8.7", await BindAsync(server, LoopbackClient.First, "10.9.8.7", "alice", "alice password"));
        Assert.Equal("127.0.0.1", await BindAsync(server, LoopbackClient.First, null, "alice", "alice password"));
    }

    [Fact]
    public async Task Forwarded_for_from_an_untrusted_peer_is_ignored()
    {
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["TrustedProxy"] = "127.0.0.1" });
        await server.CreateAccountAsync("alice", "alice password");

        Assert.Equal("127.0.0.2", await BindAsync(server, LoopbackClient.Second, "10.9.8.7", "alice", "alice password"));
    }

    [Fact]
    public async Task A_spoofed_left_most_entry_is_not_believed_the_right_most_untrusted_address_is()
    {
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["TrustedProxy"] = "127.0.0.1, 10.0.0.0/8" });
        await server.CreateAccountAsync("alice", "alice password");

        Assert.Equal("203.0.113.5", await BindAsync(server, LoopbackClient.First, "6.6.6.6, 203.0.113.5", "alice", "alice password"));
        Assert.Equal("203.0.113.5", await BindAsync(server, LoopbackClient.First, "6.6.6.6, 203.0.113.5, 10.1.2.3", "alice", "alice password"));
    }

    [Fact]
    public async Task Without_trusted_proxies_forwarded_headers_are_ignored()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        await server.CreateAccountAsync("alice", "alice password");

        Assert.Equal("127.0.0.1", await BindAsync(server, LoopbackClient.First, "10.9.8.7", "alice", "alice password"));
    }

    [Fact]
    public async Task Validate_through_a_trusted_proxy_checks_the_forwarded_client_address()
    {
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["TrustedProxy"] = "127.0.0.1" });
        await server.CreateAccountAsync("alice", "alice password");
        using var http = server.CreateClient();
        var token = ContractBody.ParseJson(await http.GetStringAsync("token.php?action=get&username=alice&password=alice%20password&address=10.9.8.7")).Token;

        async Task<ContractBody> ValidateAsync(string? forwardedFor)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"token.php?action=validate&token={token}");
            if (forwardedFor is not null)
            {
                request.Headers.Add("X-Forwarded-For", forwardedFor);
            }

            return ContractBody.ParseJson(await (await http.SendAsync(request)).Content.ReadAsStringAsync());
        }

        Assert.True((await ValidateAsync("10.9.8.7")).Success);
        Assert.Equal("Invalid token", (await ValidateAsync("10.9.8.8")).Error);
        Assert.Equal("Invalid token", (await ValidateAsync(null)).Error);
    }
}
