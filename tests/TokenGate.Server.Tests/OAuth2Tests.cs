using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>The OAuth2 endpoints (RFC 6749 client credentials, RFC 7009 revocation, RFC 7662 introspection), by hand-built requests.</summary>
public sealed class OAuth2Tests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TokenGateTestServer Server => fixture.Server;

    private static AuthenticationHeaderValue Basic(string id, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(id)}:{Uri.EscapeDataString(secret)}")));

    private static async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(HttpClient http, string path, Dictionary<string, string> form, AuthenticationHeaderValue? auth = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = auth;
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<(string Name, string Password, string Introspector, string IntrospectorPassword)> AccountsAsync()
    {
        var (name, password) = await fixture.NewAccountAsync();
        var (introspector, introspectorPassword) = await fixture.NewAccountAsync();
        await Server.Accounts.SetIntrospectionAsync(introspector, true, CancellationToken.None);
        return (name, password, introspector, introspectorPassword);
    }

    [Fact]
    public async Task Client_credentials_with_basic_or_form_authentication_issue_the_same_contactnow_token()
    {
        var (name, password, _, _) = await AccountsAsync();
        using var http = Server.CreateClient();

        var (basicResponse, basic) = await PostAsync(http, "oauth2/token", new() { ["grant_type"] = "client_credentials" }, Basic(name, password));
        var (_, form) = await PostAsync(http, "oauth2/token", new() { ["grant_type"] = "client_credentials", ["client_id"] = name, ["client_secret"] = password });

        Assert.Equal(HttpStatusCode.OK, basicResponse.StatusCode);
        Assert.Equal("no-store", basicResponse.Headers.CacheControl?.ToString());
        Assert.Equal("application/json", basicResponse.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["access_token", "token_type", "expires_in"], basic.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Bearer", basic.GetProperty("token_type").GetString());
        Assert.InRange(basic.GetProperty("expires_in").GetInt64(), 43_190, 43_200);
        var token = basic.GetProperty("access_token").GetString()!;
        Assert.Matches("^[0-9a-f]{40}$", token);
        Assert.Equal(token, form.GetProperty("access_token").GetString());
        var validated = await new TokenApiClient(http).ValidateAsync(token);
        Assert.True(validated.Success);
        Assert.Equal("Invalid token", (await new TokenApiClient(Server.CreateClient(LoopbackClient.Second)).ValidateAsync(token)).Error);
    }

    [Fact]
    public async Task Wrong_or_missing_client_credentials_get_401_invalid_client_with_a_basic_challenge()
    {
        var (name, password, _, _) = await AccountsAsync();
        using var http = Server.CreateClient();

        foreach (var (form, auth) in new (Dictionary<string, string>, AuthenticationHeaderValue?)[]
        {
            (new() { ["grant_type"] = "client_credentials" }, Basic(name, password + "x")),
            (new() { ["grant_type"] = "client_credentials" }, Basic("nobody", password)),
            (new() { ["grant_type"] = "client_credentials" }, null),
            (new() { ["grant_type"] = "client_credentials", ["client_id"] = name, ["client_secret"] = "wrong" }, null),
            (new() { ["grant_type"] = "client_credentials" }, new AuthenticationHeaderValue("Basic", "!!!not-base64")),
        })
        {
            var (response, body) = await PostAsync(http, "oauth2/token", form, auth);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("invalid_client", body.GetProperty("error").GetString());
            Assert.StartsWith("Basic realm=\"TokenGate\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Other_grant_types_repeated_parameters_two_auth_methods_and_wrong_requests_are_refused_per_rfc_6749()
    {
        var (name, password, _, _) = await AccountsAsync();
        using var http = Server.CreateClient();

        var (unsupported, unsupportedBody) = await PostAsync(http, "oauth2/token", new() { ["grant_type"] = "password", ["username"] = name, ["password"] = password }, Basic(name, password));
        var (missing, missingBody) = await PostAsync(http, "oauth2/token", [], Basic(name, password));
        var (both, bothBody) = await PostAsync(http, "oauth2/token", new() { ["grant_type"] = "client_credentials", ["client_id"] = name, ["client_secret"] = password }, Basic(name, password));
        var get = await http.GetAsync("oauth2/token?grant_type=client_credentials");
        using var json = new StringContent("{\"grant_type\":\"client_credentials\"}", Encoding.UTF8, "application/json");
        var wrongType = await http.PostAsync("oauth2/token", json);
        using var repeated = new StringContent("grant_type=client_credentials&grant_type=client_credentials", Encoding.ASCII, "application/x-www-form-urlencoded");
        var repeatedResponse = await http.PostAsync("oauth2/token", repeated);

        Assert.Equal((HttpStatusCode.BadRequest, "unsupported_grant_type"), (unsupported.StatusCode, unsupportedBody.GetProperty("error").GetString()));
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request"), (missing.StatusCode, missingBody.GetProperty("error").GetString()));
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request"), (both.StatusCode, bothBody.GetProperty("error").GetString()));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, repeatedResponse.StatusCode);
    }

    [Theory]
    [InlineData("oauth2/token")]
    [InlineData("oauth2/revoke")]
    [InlineData("oauth2/introspect")]
    public async Task A_body_in_utf7_or_with_broken_chunking_gets_400_invalid_request_not_a_500(string path)
    {
        // Found by the hostile-input run: both escaped the form reader as exceptions and were answered 500.
        using var http = Server.CreateClient();
        using var utf7 = new StringContent("grant_type=client_credentials&token=x");
        utf7.Headers.Remove("Content-Type");
        utf7.Headers.TryAddWithoutValidation("Content-Type", "application/x-www-form-urlencoded; charset=utf-7");
        var utf7Response = await http.PostAsync(path, utf7);
        var utf7Body = JsonDocument.Parse(await utf7Response.Content.ReadAsStringAsync()).RootElement;

        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Server.BaseAddress.Port));
        await socket.SendAsync(Encoding.ASCII.GetBytes(
            $"POST /{path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\ntoken=x\r\n0\r\n\r\n"));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int read;
        while (!Encoding.ASCII.GetString(received.ToArray()).Contains("\"}", StringComparison.Ordinal)
            && (read = await socket.ReceiveAsync(buffer, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        var chunked = Encoding.ASCII.GetString(received.ToArray());

        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request"), (utf7Response.StatusCode, utf7Body.GetProperty("error").GetString()));
        Assert.StartsWith("HTTP/1.1 400 ", chunked, StringComparison.Ordinal);
        Assert.Contains("\"error\":\"invalid_request\"", chunked, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_deletes_the_clients_own_token_and_answers_200_for_any_other()
    {
        var (name, password, other, otherPassword) = await AccountsAsync();
        using var http = Server.CreateClient();
        var api = new TokenApiClient(http);
        var own = (await api.GetTokenAsync(name, password)).Token!;
        var theirs = (await api.GetTokenAsync(other, otherPassword)).Token!;

        var (revokedOwn, _) = await PostAsync(http, "oauth2/revoke", new() { ["token"] = own, ["token_type_hint"] = "access_token" }, Basic(name, password));
        var (revokedTheirs, _) = await PostAsync(http, "oauth2/revoke", new() { ["token"] = theirs }, Basic(name, password));
        var (unknown, _) = await PostAsync(http, "oauth2/revoke", new() { ["token"] = "0123456789abcdef0123456789abcdef01234567" }, Basic(name, password));
        var (unauthenticated, _) = await PostAsync(http, "oauth2/revoke", new() { ["token"] = theirs });

        Assert.Equal(HttpStatusCode.OK, revokedOwn.StatusCode);
        Assert.Equal("Invalid token", (await api.ValidateAsync(own)).Error);
        Assert.Equal(HttpStatusCode.OK, revokedTheirs.StatusCode);
        Assert.True((await api.ValidateAsync(theirs)).Success);
        Assert.Equal(HttpStatusCode.OK, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
    }

    [Fact]
    public async Task Introspection_answers_rfc_7662_members_for_an_active_token_to_a_resource_server()
    {
        var (name, password, introspector, introspectorPassword) = await AccountsAsync();
        using var http = Server.CreateClient();
        var issued = await new TokenApiClient(http).GetTokenAsync(name, password, "127.0.0.2, 10.0.0.1");

        var (response, body) = await PostAsync(http, "oauth2/introspect", new() { ["token"] = issued.Token! }, Basic(introspector, introspectorPassword));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.True(body.GetProperty("active").GetBoolean());
        Assert.Equal(name, body.GetProperty("username").GetString());
        Assert.Equal("Bearer", body.GetProperty("token_type").GetString());
        Assert.Equal(issued.Expire, body.GetProperty("exp").GetInt64());
        Assert.Equal(issued.Expire - 43_200, body.GetProperty("iat").GetInt64());
        Assert.Equal(["10.0.0.1", "127.0.0.2"], body.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(Tokens.TokenValue.IdOf(Tokens.TokenValue.ComputeDigest(issued.Token!)), body.GetProperty("jti").GetString());
    }

    [Fact]
    public async Task Introspection_of_anything_but_an_active_token_answers_exactly_active_false()
    {
        var (name, password, introspector, introspectorPassword) = await AccountsAsync();
        using var http = Server.CreateClient();
        var api = new TokenApiClient(http);
        var deleted = (await api.GetTokenAsync(name, password)).Token!;
        await api.DeleteAsync(deleted);

        foreach (var token in new[] { deleted, "0123456789abcdef0123456789abcdef01234567", "not a token", string.Empty })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "oauth2/introspect") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }) };
            request.Headers.Authorization = Basic(introspector, introspectorPassword);
            var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("{\"active\":false}", await response.Content.ReadAsStringAsync());
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        }
    }

    [Fact]
    public async Task Introspection_is_refused_to_accounts_that_are_not_resource_servers_and_to_bad_credentials()
    {
        var (name, password, introspector, _) = await AccountsAsync();
        using var http = Server.CreateClient();
        var token = (await new TokenApiClient(http).GetTokenAsync(name, password)).Token!;

        var (plain, plainBody) = await PostAsync(http, "oauth2/introspect", new() { ["token"] = token }, Basic(name, password));
        var (wrong, _) = await PostAsync(http, "oauth2/introspect", new() { ["token"] = token }, Basic(introspector, "wrong password"));
        var (none, _) = await PostAsync(http, "oauth2/introspect", new() { ["token"] = token });

        Assert.Equal(HttpStatusCode.Unauthorized, plain.StatusCode);
        Assert.Equal("invalid_client", plainBody.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
    }

    [Fact]
    public async Task Introspection_of_an_expired_token_is_inactive()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["TokenLifetime"] = "60" }, time);
        await server.CreateAccountAsync("holder", "holder password");
        await server.CreateAccountAsync("api", "api password");
        await server.Accounts.SetIntrospectionAsync("api", true, CancellationToken.None);
        using var http = server.CreateClient();
        var token = (await new TokenApiClient(http).GetTokenAsync("holder", "holder password")).Token!;
        time.Advance(TimeSpan.FromSeconds(60));

        var (_, body) = await PostAsync(http, "oauth2/introspect", new() { ["token"] = token }, Basic("api", "api password"));

        Assert.False(body.GetProperty("active").GetBoolean());
        Assert.Single(body.EnumerateObject());
    }
}
