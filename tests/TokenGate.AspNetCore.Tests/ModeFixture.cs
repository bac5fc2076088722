using Microsoft.AspNetCore.Builder;
using TokenGate.Testing;

namespace TokenGate.AspNetCore.Tests;

/// <summary>
/// A real TokenGate server and an API app protected by the TokenGate scheme in one mode, sharing one controllable clock. Tests
/// of a class share it and use accounts of their own; the clock only moves forward.
/// </summary>
public abstract class ModeFixture : IAsyncLifetime
{
    public const string ResourceServer = "resource-api";
    public const string ResourceServerPassword = "resource server password";

    private TokenGateTestServer? _server;
    private ApiApp? _api;

    public ManualTimeProvider Time { get; } = new(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));

    public TokenGateTestServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public ApiApp Api => _api ?? throw new InvalidOperationException("Not started.");

    /// <summary>How long a token deleted on the server may still pass this mode's handler, by <see cref="Time"/>.</summary>
    public abstract TimeSpan RevocationLag { get; }

    /// <summary>Sets the mode's options for an API app in front of <paramref name="server"/>.</summary>
    public abstract void ConfigureMode(TokenGateOptions options, TokenGateTestServer server);

    public virtual async ValueTask InitializeAsync()
    {
        _server = await TokenGateTestServer.StartAsync(time: Time);
        await Server.CreateAccountAsync(ResourceServer, ResourceServerPassword);
        await Server.Accounts.SetIntrospectionAsync(ResourceServer, true, CancellationToken.None);
        _api = await StartApiAsync();
    }

    /// <summary>Another API app in this mode (and on this clock), with options of its own on top.</summary>
    public Task<ApiApp> StartApiAsync(Action<TokenGateOptions>? configure = null, Action<WebApplicationBuilder>? services = null) =>
        ApiApp.StartAsync(
            options =>
            {
                ConfigureMode(options, Server);
                configure?.Invoke(options);
            },
            Time,
            services: services);

    public async Task<(string Name, string Password)> NewAccountAsync()
    {
        var name = "user-" + Guid.NewGuid().ToString("N")[..12];
        var password = "pw-" + Guid.NewGuid().ToString("N");
        await Server.CreateAccountAsync(name, password);
        return (name, password);
    }

    /// <summary>A new account and a token of it, bound to <paramref name="address"/> (else to 127.0.0.1, the caller).</summary>
    public async Task<(string Account, string Token, long Expire)> NewTokenAsync(string? address = null)
    {
        var (name, password) = await NewAccountAsync();
        using var http = Server.CreateClient();
        var body = await new TokenApiClient(http).GetTokenAsync(name, password, address);
        Assert.True(body.Success, body.Error);
        return (name, body.Token!, body.Expire!.Value);
    }

    /// <summary>Deletes a token through token.php, as its holder would.</summary>
    public async Task DeleteAsync(string token)
    {
        using var http = Server.CreateClient();
        Assert.True((await new TokenApiClient(http).DeleteAsync(token)).Success);
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>Local mode: the API reads the server's SQLite file itself (no key file, no introspection).</summary>
public sealed class LocalModeFixture : ModeFixture
{
    public override TimeSpan RevocationLag => TimeSpan.Zero;

    public override void ConfigureMode(TokenGateOptions options, TokenGateTestServer server)
    {
        options.Mode = TokenGateMode.Local;
        options.Database = server.DatabasePath;
    }
}

/// <summary>Remote mode: the API asks the server's introspection endpoint over loopback, as the resource-server account.</summary>
public sealed class RemoteModeFixture : ModeFixture
{
    public override TimeSpan RevocationLag => TokenGateOptions.DefaultIntrospectionCacheDuration;

    public override void ConfigureMode(TokenGateOptions options, TokenGateTestServer server)
    {
        options.Mode = TokenGateMode.Remote;
        options.Authority = server.BaseAddress;
        options.ClientId = ResourceServer;
        options.ClientSecret = ResourceServerPassword;
    }
}
