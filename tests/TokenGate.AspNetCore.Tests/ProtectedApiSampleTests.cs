using System.Net;
using System.Reflection;
using System.Text.Json;
using TokenGate.Testing;

namespace TokenGate.AspNetCore.Tests;

/// <summary>
/// samples/ProtectedApi run as the README runs it, a real process configured by ASPNETCORE_ENVIRONMENT and
/// <c>Authentication__Schemes__TokenGate__*</c> variables: in remote mode without a client secret it says so in one line and exits
/// 2 (not an abort with a stack trace), and with one it answers <c>/whoami</c> through a real TokenGate server's introspection.
/// </summary>
public sealed class ProtectedApiSampleTests : IDisposable
{
    private const string ResourceServer = "api";
    private const string ResourceServerPassword = "resource server password";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _directory = new("tokengate-protectedapi");

    private static string SampleAssembly { get; } = typeof(ProtectedApiSampleTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == "ProtectedApiAssembly").Value!;

    public void Dispose() => _directory.Dispose();

    [Fact(Timeout = 120_000)]
    public async Task Remote_mode_without_a_client_secret_exits_2_with_one_line_and_no_stack_trace()
    {
        using var api = TokenGateProcess.StartProgram(
            SampleAssembly, _directory.Path, new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Remote" }, "--urls", "http://127.0.0.1:0");

        var exitCode = await api.WaitForExitAsync(StartTimeout);

        Assert.Equal(2, exitCode);
        Assert.Equal(
            "error: TokenGate scheme 'TokenGate': Remote mode needs ClientId and ClientSecret: a resource-server account ('tokengate account add NAME --introspect').\n",
            api.Error);
        Assert.Equal(string.Empty, api.Output);
    }

    [Fact(Timeout = 120_000)]
    public async Task Remote_mode_with_a_client_secret_answers_whoami_through_the_servers_introspection()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        await server.CreateAccountAsync(ResourceServer, ResourceServerPassword);
        await server.Accounts.SetIntrospectionAsync(ResourceServer, true, CancellationToken.None);
        await server.CreateAccountAsync("demo", "demo password");
        using var tokenHttp = server.CreateClient();
        var token = (await new TokenApiClient(tokenHttp).GetTokenAsync("demo", "demo password")).Token!;

        using var api = TokenGateProcess.StartProgram(
            SampleAssembly,
            _directory.Path,
            new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Remote",
                ["Authentication__Schemes__TokenGate__Authority"] = server.BaseAddress.AbsoluteUri,
                ["Authentication__Schemes__TokenGate__ClientSecret"] = ResourceServerPassword,
            },
            "--urls",
            "http://127.0.0.1:0");
        var baseAddress = await api.WaitForListeningAsync(StartTimeout);

        using var http = LoopbackClient.Create(baseAddress);
        using var response = await http.GetAsync(new Uri($"whoami?token={token}", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("demo", JsonDocument.Parse(body).RootElement.GetProperty("account").GetString());
        Assert.DoesNotContain(ResourceServerPassword, api.Output + api.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(token, api.Output + api.Error, StringComparison.Ordinal);
    }
}
