using TokenGate.Server.Security;
using TokenGate.Storage.Sqlite;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// The server caches validated tokens, verified credentials and current tokens in memory. An operator's change made from
/// another process on the same database (what <c>tokengate account ...</c> does) must take effect on the very next request.
/// </summary>
public sealed class RevocationTests : IAsyncLifetime
{
    private const string Name = "carol";
    private const string Password = "carol's password";
    private TokenGateTestServer _server = null!;
    private TokenApiClient _client = null!;
    private SqliteTokenGateStore _operatorStore = null!;
    private AccountService _operator = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await TokenGateTestServer.StartAsync();
        await _server.CreateAccountAsync(Name, Password);
        _client = new TokenApiClient(_server.CreateClient());

        // A second store on the same file, as the operator CLI opens it.
        _operatorStore = new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = _server.DatabasePath });
        await _operatorStore.InitializeAsync(CancellationToken.None);
        _operator = new AccountService(_operatorStore, new IdentityPasswordHasher(TokenGateTestServer.FastHashIterations), Accounts.PasswordPolicy.Default, new Tokens.TokenPolicyOptions(), TimeProvider.System);
    }

    public async ValueTask DisposeAsync()
    {
        await _operatorStore.DisposeAsync();
        await _server.DisposeAsync();
    }

    /// <summary>Gets a token and uses it twice, so that the token, the credential and the current token are all cached.</summary>
    private async Task<string> WarmAsync()
    {
        var token = (await _client.GetTokenAsync(Name, Password)).Token!;
        Assert.Equal(token, (await _client.GetTokenAsync(Name, Password)).Token);
        Assert.True((await _client.ValidateAsync(token)).Success);
        Assert.True((await _client.ValidateAsync(token)).Success);
        return token;
    }

    [Fact]
    public async Task Disabling_the_account_elsewhere_refuses_its_token_and_its_login_on_the_next_request()
    {
        var token = await WarmAsync();

        await _operator.SetEnabledAsync(Name, enabled: false, CancellationToken.None);

        Assert.Equal("Invalid token", (await _client.ValidateAsync(token)).Error);
        Assert.Equal("Authentication failure", (await _client.GetTokenAsync(Name, Password)).Error);
    }

    [Fact]
    public async Task Removing_the_account_elsewhere_refuses_its_token_and_its_login_on_the_next_request()
    {
        var token = await WarmAsync();

        await _operator.RemoveAsync(Name, CancellationToken.None);

        Assert.Equal("Invalid token", (await _client.ValidateAsync(token)).Error);
        Assert.Equal("Authentication failure", (await _client.GetTokenAsync(Name, Password)).Error);
    }

    [Fact]
    public async Task A_password_set_elsewhere_stops_the_old_one_and_its_tokens_on_the_next_request()
    {
        var token = await WarmAsync();

        await _operator.SetPasswordAsync(Name, "a password set by the operator", CancellationToken.None);

        Assert.Equal("Invalid token", (await _client.ValidateAsync(token)).Error);
        Assert.Equal("Authentication failure", (await _client.GetTokenAsync(Name, Password)).Error);
        Assert.True((await _client.GetTokenAsync(Name, "a password set by the operator")).Success);
    }

    [Fact]
    public async Task Revoking_tokens_elsewhere_refuses_them_on_the_next_request_and_get_issues_a_new_one()
    {
        var token = await WarmAsync();

        await _operator.RevokeTokensAsync(Name, CancellationToken.None);

        Assert.Equal("Invalid token", (await _client.ValidateAsync(token)).Error);
        var next = await _client.GetTokenAsync(Name, Password);
        Assert.True(next.Success);
        Assert.NotEqual(token, next.Token);
    }

    [Fact]
    public async Task A_delete_through_the_api_is_seen_at_once()
    {
        var token = await WarmAsync();

        Assert.True((await _client.DeleteAsync(token)).Success);

        Assert.Equal("Invalid token", (await _client.ValidateAsync(token)).Error);
        Assert.NotEqual(token, (await _client.GetTokenAsync(Name, Password)).Token);
    }
}
