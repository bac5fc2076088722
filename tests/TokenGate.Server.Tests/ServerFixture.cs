using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>One real server shared by a test class; each test uses accounts of its own.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private TokenGateTestServer? _server;

    public TokenGateTestServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync() => _server = await TokenGateTestServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A new account with a unique name and a password that meets the policy.</summary>
    public async Task<(string Name, string Password)> NewAccountAsync()
    {
        var name = "user-" + Guid.NewGuid().ToString("N")[..12];
        var password = "pw-" + Guid.NewGuid().ToString("N");
        await Server.CreateAccountAsync(name, password);
        return (name, password);
    }
}
