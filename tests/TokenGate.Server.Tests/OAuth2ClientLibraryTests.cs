using System.Diagnostics;
using System.Text.Json;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// The OAuth2 endpoints driven by an independent, widely used client library: openid-client 5 for Node.js (npm), pinned in
/// OAuth2Client/package-lock.json. The script asks for a token with client_secret_basic and client_secret_post, introspects it
/// as a resource server, revokes it, and provokes the standard errors; the test checks what the library understood.
/// </summary>
public sealed class OAuth2ClientLibraryTests
{
    [Fact(Timeout = 180_000)]
    public async Task Openid_client_gets_introspects_and_revokes_tokens_and_understands_the_errors()
    {
        var node = ExternalTool.Require("nodejs", "node", "/usr/bin/node");
        var npm = ExternalTool.Require("npm", "npm", "/usr/bin/npm");
        var script = Path.Combine(RepositoryPaths.Root, "tests", "TokenGate.Server.Tests", "OAuth2Client");
        if (!Directory.Exists(Path.Combine(script, "node_modules", "openid-client")))
        {
            var (code, _, error) = await RunAsync(npm, script, new Dictionary<string, string>(), "ci", "--no-audit", "--no-fund", "--loglevel=error");
            Assert.True(code == 0, $"npm ci failed: {error}");
        }

        await using var server = await TokenGateTestServer.StartAsync();
        await server.CreateAccountAsync("oauth-client", "oauth client secret");
        await server.CreateAccountAsync("resource-server", "resource server secret");
        await server.Accounts.SetIntrospectionAsync("resource-server", true, CancellationToken.None);

        var (exit, output, stderr) = await RunAsync(node, script, new Dictionary<string, string>
        {
            ["TOKENGATE_URL"] = server.BaseAddress.ToString(),
            ["CLIENT_ID"] = "oauth-client",
            ["CLIENT_SECRET"] = "oauth client secret",
            ["RESOURCE_ID"] = "resource-server",
            ["RESOURCE_SECRET"] = "resource server secret",
        }, "check.js");

        Assert.True(exit == 0, stderr);
        var seen = JsonDocument.Parse(output).RootElement;
        var token = seen.GetProperty("tokenSet");
        Assert.Matches("^[0-9a-f]{40}$", token.GetProperty("access_token").GetString());
        Assert.Equal("Bearer", token.GetProperty("token_type").GetString());
        Assert.InRange(token.GetProperty("expires_in").GetInt32(), 43_190, 43_200);
        Assert.False(token.GetProperty("expired").GetBoolean());
        Assert.Equal(token.GetProperty("access_token").GetString(), seen.GetProperty("viaPost").GetProperty("access_token").GetString());

        var active = seen.GetProperty("active");
        Assert.True(active.GetProperty("active").GetBoolean());
        Assert.Equal("oauth-client", active.GetProperty("username").GetString());
        Assert.Equal(["127.0.0.1"], active.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("{\"active\":false}", seen.GetProperty("afterRevoke").GetRawText());

        Assert.Equal("invalid_client", seen.GetProperty("wrongSecret").GetProperty("error").GetString());
        Assert.Equal(401, seen.GetProperty("wrongSecret").GetProperty("status").GetInt32());
        Assert.Equal("invalid_client", seen.GetProperty("notResourceServer").GetProperty("error").GetString());
        Assert.Equal("unsupported_grant_type", seen.GetProperty("wrongGrant").GetProperty("error").GetString());
        Assert.True(seen.GetProperty("wrongGrant").GetProperty("op").GetBoolean());
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string program, string directory, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
