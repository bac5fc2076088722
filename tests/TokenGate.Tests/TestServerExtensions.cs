using System.Net;
using TokenGate.Testing;

namespace TokenGate.Tests;

public static class TestServerExtensions
{
    /// <summary>A token API client of <paramref name="server"/> that posts forms and reads JSON, from 127.0.0.1 unless told.</summary>
    public static TokenApiClient Api(this TokenGateTestServer server, IPAddress? source = null) =>
        new(server.CreateClient(source), mode: SendMode.PostForm);

    /// <summary>Gets a token and checks that it was issued.</summary>
    public static async Task<ContractBody> IssueAsync(this TokenApiClient client, string username, string password, string? address = null)
    {
        var body = await client.GetTokenAsync(username, password, address);
        Assert.True(body.Success, $"get for {username} failed: {body.Error}");
        Assert.Matches("^[0-9a-f]{40}$", body.Token);
        return body;
    }
}
