using System.Net;
using TokenGate.Testing;

namespace TokenGate.Client.Tests;

/// <summary>The four actions and their failures against a real TokenGate server, in JSON and XML, by POST and GET, on both paths.</summary>
public sealed class TokenApiClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TokenGateTestServer Server => fixture.Server;

    public static TheoryData<TokenFormat, TokenRequestMethod, string> Variants()
    {
        var data = new TheoryData<TokenFormat, TokenRequestMethod, string>();
        foreach (var format in Enum.GetValues<TokenFormat>())
        {
            foreach (var method in Enum.GetValues<TokenRequestMethod>())
            {
                foreach (var path in new[] { "token.php", "api/token.php" })
                {
                    data.Add(format, method, path);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Get_returns_a_token_its_expiry_and_the_servers_date(TokenFormat format, TokenRequestMethod method, string path)
    {
        var account = await fixture.NewAccountAsync();
        var api = Server.Api(format, method, path: path);
        var before = DateTimeOffset.UtcNow;

        var token = await api.GetTokenAsync(account.Name, account.Password);

        Assert.Matches("^[0-9a-f]{40}$", token.Value);
        Assert.InRange(token.ExpiresAt.ToUnixTimeSeconds(), before.ToUnixTimeSeconds() + 43_200, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 43_200);
        Assert.NotNull(token.ServerDate);
        Assert.InRange(token.RemainingAtIssue!.Value, TimeSpan.FromSeconds(43_199), TimeSpan.FromSeconds(43_201));
        Assert.Equal(token.ExpiresAt, await api.ValidateTokenAsync(token.Value));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Get_with_addresses_binds_the_token_to_them_and_not_to_the_caller(TokenFormat format, TokenRequestMethod method, string path)
    {
        var account = await fixture.NewAccountAsync();
        var fromFirst = Server.Api(format, method, LoopbackClient.First, path);
        var fromSecond = Server.Api(format, method, LoopbackClient.Second, path);

        var token = await fromFirst.GetTokenAsync(account.Name, account.Password, ["127.0.0.2", " 10.0.0.1 "]);

        Assert.Equal(token.ExpiresAt, await fromSecond.ValidateTokenAsync(token.Value));
        var refused = await Assert.ThrowsAsync<InvalidTokenException>(() => fromFirst.ValidateTokenAsync(token.Value));
        Assert.Equal("Invalid token", refused.Error);
        Assert.Equal("validate", refused.Action);
        Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Delete_unauthorizes_the_token_at_once(TokenFormat format, TokenRequestMethod method, string path)
    {
        var account = await fixture.NewAccountAsync();
        var api = Server.Api(format, method, path: path);
        var token = await api.GetTokenAsync(account.Name, account.Password);

        await api.DeleteTokenAsync(token.Value);

        Assert.Equal("Invalid token", (await Assert.ThrowsAsync<InvalidTokenException>(() => api.ValidateTokenAsync(token.Value))).Error);
        Assert.Equal("delete", (await Assert.ThrowsAsync<InvalidTokenException>(() => api.DeleteTokenAsync(token.Value))).Action);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Newpass_changes_the_password_and_the_old_one_fails_authentication(TokenFormat format, TokenRequestMethod method, string path)
    {
        var account = await fixture.NewAccountAsync();
        var api = Server.Api(format, method, path: path);
        var token = await api.GetTokenAsync(account.Name, account.Password);
        var newPassword = "new-" + Guid.NewGuid().ToString("N");

        await api.ChangePasswordAsync(token.Value, newPassword);

        var refused = await Assert.ThrowsAsync<TokenAuthenticationException>(() => api.GetTokenAsync(account.Name, account.Password));
        Assert.Equal("Authentication failure", refused.Error);
        Assert.Equal(token.Value, (await api.GetTokenAsync(account.Name, newPassword)).Value);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Api_errors_keep_the_servers_text_in_a_typed_exception_without_secrets(TokenFormat format, TokenRequestMethod method, string path)
    {
        var account = await fixture.NewAccountAsync();
        var api = Server.Api(format, method, path: path);
        var token = await api.GetTokenAsync(account.Name, account.Password);

        var wrongPassword = await Assert.ThrowsAsync<TokenAuthenticationException>(() => api.GetTokenAsync(account.Name, "Wr0ng-" + account.Password));
        var badAddress = await Assert.ThrowsAsync<TokenApiException>(() => api.GetTokenAsync(account.Name, account.Password, ["not-an-ip"]));
        var shortPassword = await Assert.ThrowsAsync<TokenApiException>(() => api.ChangePasswordAsync(token.Value, "short"));
        var unknownToken = await Assert.ThrowsAsync<InvalidTokenException>(() => api.DeleteTokenAsync(new string('0', 40)));
        var unknownForNewpass = await Assert.ThrowsAsync<InvalidTokenException>(() => api.ChangePasswordAsync(new string('1', 40), "long enough password"));

        Assert.Equal(("get", "Authentication failure"), (wrongPassword.Action, wrongPassword.Error));
        Assert.Equal(("get", "Bad argument: address"), (badAddress.Action, badAddress.Error));
        Assert.Equal(typeof(TokenApiException), badAddress.GetType());
        Assert.Equal(("newpass", "Bad argument: password"), (shortPassword.Action, shortPassword.Error));
        Assert.Equal(("delete", "Invalid token"), (unknownToken.Action, unknownToken.Error));
        Assert.Equal("newpass", unknownForNewpass.Action);
        Assert.Contains("Authentication failure", wrongPassword.Message, StringComparison.Ordinal);
        foreach (var exception in new Exception[] { wrongPassword, badAddress, shortPassword, unknownToken, unknownForNewpass })
        {
            Assert.DoesNotContain(account.Password, exception.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(token.Value, exception.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_token_and_its_ToString_never_show_the_value()
    {
        var account = await fixture.NewAccountAsync();
        var token = await Server.Api().GetTokenAsync(account.Name, account.Password);

        Assert.DoesNotContain(token.Value, token.ToString(), StringComparison.Ordinal);
        Assert.Contains("[redacted]", token.ToString(), StringComparison.Ordinal);
        var stored = new StoredToken(token.Value, token.ExpiresAt, token.ExpiresAt);
        Assert.DoesNotContain(token.Value, stored.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_presets_point_at_ContactNow_EU_and_US_and_at_a_TokenGate_server()
    {
        Assert.Equal("https://api-106.dxi.eu/token.php", TokenEndpoints.ContactNowEu.AbsoluteUri);
        Assert.Equal("https://api.contactnow.8x8.com/api/token.php", TokenEndpoints.ContactNowUs.AbsoluteUri);
        Assert.Equal("http://127.0.0.1:5080/token.php", TokenEndpoints.TokenGate("http://127.0.0.1:5080").AbsoluteUri);
        Assert.Equal("https://gate.example/tokens/token.php", TokenEndpoints.TokenGate(new Uri("https://gate.example/tokens/")).AbsoluteUri);
    }

    [Fact]
    public async Task The_TokenGate_preset_reaches_a_TokenGate_server()
    {
        var account = await fixture.NewAccountAsync();
        var api = TokenClients.CreateApiClient(Clients.Http(), new TokenClientOptions { Endpoint = TokenEndpoints.TokenGate(Server.BaseAddress) });

        var token = await api.GetTokenAsync(account.Name, account.Password);

        Assert.Equal(token.ExpiresAt, await api.ValidateTokenAsync(token.Value));
    }
}

/// <summary>A token past its expiry, on a server whose clock the test moves.</summary>
public sealed class ExpiredTokenTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _serverTime = new();
    private TokenGateTestServer _server = null!;

    public async ValueTask InitializeAsync() =>
        _server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["TokenLifetime"] = "120" }, _serverTime);

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(TokenFormat.Json)]
    [InlineData(TokenFormat.Xml)]
    public async Task Validate_delete_and_newpass_of_an_expired_token_throw_expired_token(TokenFormat format)
    {
        var account = await _server.NewAccountAsync();
        var api = _server.Api(format);
        var token = await api.GetTokenAsync(account.Name, account.Password);
        _serverTime.Advance(TimeSpan.FromSeconds(120));

        var validate = await Assert.ThrowsAsync<ExpiredTokenException>(() => api.ValidateTokenAsync(token.Value));
        var delete = await Assert.ThrowsAsync<ExpiredTokenException>(() => api.DeleteTokenAsync(token.Value));
        var newpass = await Assert.ThrowsAsync<ExpiredTokenException>(() => api.ChangePasswordAsync(token.Value, "a long new password"));

        Assert.All([validate, delete, newpass], e => Assert.Equal("Expired token", e.Error));
        Assert.Equal(["validate", "delete", "newpass"], new[] { validate.Action, delete.Action, newpass.Action });
    }
}
