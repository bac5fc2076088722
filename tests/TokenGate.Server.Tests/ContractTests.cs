using System.Net;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>Every row of CONTRACT.md, over real HTTP, on both paths, by GET, urlencoded POST and multipart POST, in JSON and XML.</summary>
public sealed class ContractTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TokenGateTestServer Server => fixture.Server;

    private TokenApiClient Client(string path, SendMode mode, string format, IPAddress? source = null) =>
        new(Server.CreateClient(source), path, mode, format);

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task Get_with_right_credentials_issues_a_40_hex_token_that_expires_in_12_hours(string path, SendMode mode, string format)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var client = Client(path, mode, format);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var (response, body) = await client.SendAsync(("action", "get"), ("username", name), ("password", password));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(format == "xml" ? "application/xml; charset=utf-8" : "application/json; charset=utf-8", MediaTypes.Of(response));
        Assert.Contains("no-store", response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        Assert.True(body.Success);
        Assert.Equal(["success", "token", "expire"], body.Fields);
        Assert.Matches("^[0-9a-f]{40}$", body.Token);
        Assert.InRange(body.Expire!.Value, before + 43_200, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 43_200);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task Get_again_for_the_same_address_set_returns_the_same_token_and_expiry(string path, SendMode mode, string format)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var client = Client(path, mode, format);

        var first = await client.GetTokenAsync(name, password);
        var second = await client.GetTokenAsync(name, password);
        var listed = await client.GetTokenAsync(name, password, " 10.1.2.3 ,127.0.0.1");
        var reordered = await client.GetTokenAsync(name, password, "::ffff:127.0.0.1,10.1.2.3");

        Assert.Equal(first.Token, second.Token);
        Assert.Equal(first.Expire, second.Expire);
        Assert.NotEqual(first.Token, listed.Token);
        Assert.Equal(listed.Token, reordered.Token);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task Validate_answers_the_expiry_from_a_bound_address_and_invalid_from_another(string path, SendMode mode, string format)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var first = Client(path, mode, format, LoopbackClient.First);
        var second = Client(path, mode, format, LoopbackClient.Second);
        var issued = await first.GetTokenAsync(name, password);

        var fromBound = await first.ValidateAsync(issued.Token!);
        var fromOther = await second.ValidateAsync(issued.Token!);

        Assert.True(fromBound.Success);
        Assert.Equal(["success", "expire"], fromBound.Fields);
        Assert.Equal(issued.Expire, fromBound.Expire);
        Assert.False(fromOther.Success);
        Assert.Equal(["success", "error"], fromOther.Fields);
        Assert.Equal("Invalid token", fromOther.Error);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task Get_with_an_address_binds_the_token_to_that_address_not_the_caller(string path, SendMode mode, string format)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var first = Client(path, mode, format, LoopbackClient.First);
        var second = Client(path, mode, format, LoopbackClient.Second);

        var issued = await first.GetTokenAsync(name, password, "127.0.0.2");

        Assert.Equal("Invalid token", (await first.ValidateAsync(issued.Token!)).Error);
        Assert.True((await second.ValidateAsync(issued.Token!)).Success);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task Get_binds_to_every_address_of_a_list(string path, SendMode mode, string format)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var first = Client(path, mode, format, LoopbackClient.First);
        var second = Client(path, mode, format, LoopbackClient.Second);

        var issued = await first.GetTokenAsync(name, password, "127.0.0.1, 127.0.0.2, 2001:db8::1");

        Assert.True((await first.ValidateAsync(issued.Token!)).Success);
        Assert.True((await second.ValidateAsync(issued.Token!)).Success);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task Get_with_an_address_no_client_can_call_from_is_a_bad_argument_and_issues_no_token(string path, SendMode mode, string format)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var client = Client(path, mode, format);

        foreach (var address in new[] { "0.0.0.0", "::", "255.255.255.255", "224.0.0.1", "239.1.2.3", "ff02::1", "::ffff:0.0.0.0", "10.0.0.1,224.0.0.251" })
        {
            var body = await client.GetTokenAsync(name, password, address);
            Assert.Equal((false, "Bad argument: address", (string?)null), (body.Success, body.Error, body.Token));
        }

        // Nothing was stored for any of them: the account's only token is the one of the address set it may have.
        Assert.Empty(await Server.Accounts.ListTokensAsync(name, 100, CancellationToken.None));
        var allowed = await client.GetTokenAsync(name, password, "10.0.0.1,::ffff:10.0.0.2");
        Assert.True(allowed.Success);
        var stored = Assert.Single(await Server.Accounts.ListTokensAsync(name, 100, CancellationToken.None));
        Assert.True(Tokens.AddressSet.TryParse("10.0.0.1,::ffff:10.0.0.2", out var set));
        Assert.Equal((set!.Key, allowed.Expire), (stored.AddressKey, (long?)stored.ExpiresAt));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task Get_with_a_malformed_or_too_long_address_list_is_a_bad_argument(string path, SendMode mode, string format)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var client = Client(path, mode, format);
        var eleven = string.Join(",", Enumerable.Range(1, 11).Select(i => $"10.0.0.{i}"));

        foreach (var address in new[] { "1.2.3", "1.2.3.256", "localhost", "1.2.3.4,", "1.2.3.4,,5.6.7.8", "fe80::1%eth0", "01.2.3.4", eleven })
        {
            var body = await client.GetTokenAsync(name, password, address);
            Assert.False(body.Success);
            Assert.Equal("Bad argument: address", body.Error);
        }

        var ten = string.Join(",", Enumerable.Range(1, 10).Select(i => $"10.0.0.{i}"));
        Assert.True((await client.GetTokenAsync(name, password, ten)).Success);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task Get_fails_alike_for_a_wrong_missing_or_unknown_credential_and_a_disabled_account(string path, SendMode mode, string format)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var (disabled, disabledPassword) = await fixture.NewAccountAsync();
        await Server.Accounts.SetEnabledAsync(disabled, enabled: false, CancellationToken.None);
        var client = Client(path, mode, format);

        var attempts = new[]
        {
            await client.GetTokenAsync(name, password + "x"),
            await client.GetTokenAsync(name.ToUpperInvariant(), password),
            await client.GetTokenAsync("nobody-" + name, password),
            await client.GetTokenAsync(disabled, disabledPassword),
            await client.CallAsync(("action", "get"), ("username", name)),
            await client.CallAsync(("action", "get"), ("password", password)),
            await client.GetTokenAsync("bad name!", password),
        };

        Assert.All(attempts, body =>
        {
            Assert.False(body.Success);
            Assert.Equal(["success", "error"], body.Fields);
            Assert.Equal("Authentication failure", body.Error);
        });
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task Delete_unauthorizes_the_token_at_once(string path, SendMode mode, string format)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var client = Client(path, mode, format);
        var other = Client(path, mode, format, LoopbackClient.Second);
        var issued = await client.GetTokenAsync(name, password);

        var fromOther = await other.DeleteAsync(issued.Token!);
        var deleted = await client.DeleteAsync(issued.Token!);

        Assert.Equal("Invalid token", fromOther.Error);
        Assert.True(deleted.Success);
        Assert.Equal(["success"], deleted.Fields);
        Assert.Equal("Invalid token", (await client.ValidateAsync(issued.Token!)).Error);
        Assert.Equal("Invalid token", (await client.DeleteAsync(issued.Token!)).Error);
        Assert.NotEqual(issued.Token, (await client.GetTokenAsync(name, password)).Token);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task Newpass_changes_the_password_keeps_the_token_used_and_deletes_the_others(string path, SendMode mode, string format)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var client = Client(path, mode, format);
        var used = await client.GetTokenAsync(name, password);
        var other = await client.GetTokenAsync(name, password, "10.20.30.40");
        const string NewPassword = "a new password, long enough";

        Assert.Equal("Bad argument: password", (await client.NewPasswordAsync(used.Token!, "short")).Error);
        Assert.Equal("Bad argument: password", (await client.NewPasswordAsync(used.Token!, new string('p', 129))).Error);
        Assert.Equal("Bad argument: password", (await client.NewPasswordAsync(used.Token!, "qwertyuiop")).Error);
        Assert.Equal("Bad argument: password", (await client.NewPasswordAsync(used.Token!, "Password1")).Error);
        Assert.Equal("Bad argument: password", (await client.NewPasswordAsync(used.Token!, name.ToUpperInvariant())).Error);
        var changed = await client.NewPasswordAsync(used.Token!, NewPassword);

        Assert.True(changed.Success);
        Assert.Equal(["success"], changed.Fields);
        Assert.Equal("Authentication failure", (await client.GetTokenAsync(name, password)).Error);
        Assert.True((await client.ValidateAsync(used.Token!)).Success);
        Assert.Equal(used.Token, (await client.GetTokenAsync(name, NewPassword)).Token);
        Assert.Equal("Invalid token", (await Client(path, mode, format).CallAsync(("action", "validate"), ("token", other.Token!))).Error);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task Token_actions_with_a_missing_malformed_or_unknown_token_answer_invalid_token(string path, SendMode mode, string format)
    {
        var client = Client(path, mode, format);
        foreach (var action in new[] { "validate", "delete", "newpass" })
        {
            Assert.Equal("Invalid token", (await client.CallAsync(("action", action), ("password", "long enough password"))).Error);
            foreach (var token in new[] { string.Empty, "xyz", new string('a', 40), new string('A', 40), new string('a', 41) })
            {
                var body = await client.CallAsync(("action", action), ("token", token), ("password", "long enough password"));
                Assert.False(body.Success);
                Assert.Equal("Invalid token", body.Error);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public async Task A_missing_or_unknown_action_is_a_bad_argument(string path, SendMode mode, string format)
    {
        var client = Client(path, mode, format);
        Assert.Equal("Bad argument: action", (await client.CallAsync(("token", "x"))).Error);
        Assert.Equal("Bad argument: action", (await client.CallAsync(("action", "explode"))).Error);
        Assert.Equal("Bad argument: action", (await client.CallAsync(("action", string.Empty))).Error);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    public async Task Action_and_format_values_ignore_case(string method)
    {
        var (name, password) = await fixture.NewAccountAsync();
        var mode = method == "GET" ? SendMode.Get : SendMode.PostForm;
        var xml = new TokenApiClient(Server.CreateClient(), "token.php", mode, "XmL");
        var issued = await new TokenApiClient(Server.CreateClient(), "token.php", mode).CallAsync(("action", "GET"), ("username", name), ("password", password));

        var body = await xml.CallAsync(("action", "Validate"), ("token", issued.Token!));

        Assert.True(body.Success);
    }

    [Theory]
    [InlineData("token.php")]
    [InlineData("api/token.php")]
    public async Task An_unknown_format_is_answered_in_json_as_a_bad_argument(string path)
    {
        using var http = Server.CreateClient();
        var response = await http.GetAsync($"{path}?action=validate&token=x&format=yaml");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", MediaTypes.Of(response));
        var body = ContractBody.ParseJson(await response.Content.ReadAsStringAsync());
        Assert.Equal("Bad argument: format", body.Error);
    }

    [Fact]
    public async Task A_body_field_wins_over_a_query_field_of_the_same_name()
    {
        var (name, password) = await fixture.NewAccountAsync();
        using var http = Server.CreateClient();
        using var content = new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = name, ["password"] = password, ["format"] = "xml" });

        var response = await http.PostAsync($"token.php?action=get&username=nobody&password=wrong&format=json", content);

        var body = ContractBody.ParseXml(await response.Content.ReadAsStringAsync());
        Assert.True(body.Success);
    }

    [Fact]
    public async Task Xml_bodies_match_the_vendor_examples()
    {
        var (name, password) = await fixture.NewAccountAsync();
        using var http = Server.CreateClient();

        var issued = await http.GetStringAsync($"token.php?action=get&username={name}&password={password}&format=xml");
        var invalid = await http.GetStringAsync("token.php?action=validate&token=nope&format=xml");

        Assert.Matches("^(<\\?xml[^>]*\\?>\\s*)?<result><success>1</success><token>[0-9a-f]{40}</token><expire>\\d+</expire></result>$", issued);
        Assert.Matches("^(<\\?xml[^>]*\\?>\\s*)?<result><success>0</success><error>Invalid token</error></result>$", invalid);
    }

    [Fact]
    public async Task Json_bodies_match_the_vendor_examples_byte_for_byte()
    {
        using var http = Server.CreateClient();

        Assert.Equal("{\"success\":false,\"error\":\"Invalid token\"}", await http.GetStringAsync("token.php?action=validate&token=nope"));
        Assert.Equal("{\"success\":false,\"error\":\"Authentication failure\"}", await http.GetStringAsync("token.php?action=get&username=nobody&password=whatever1"));
    }

    [Fact]
    public async Task Fifty_concurrent_gets_for_one_account_and_address_set_yield_one_token()
    {
        var (name, password) = await fixture.NewAccountAsync();
        var clients = Enumerable.Range(0, 50).Select(i => new TokenApiClient(Server.CreateClient(i % 2 == 0 ? LoopbackClient.First : LoopbackClient.Second))).ToList();
        using var start = new ManualResetEventSlim();

        var bodies = await Task.WhenAll(clients.Select(client => Task.Run(async () =>
        {
            start.Wait();
            return await client.GetTokenAsync(name, password, "127.0.0.1,127.0.0.2");
        })).Append(Task.Run(() =>
        {
            start.Set();
            return new ContractBody(true, null, null, null, []);
        })));

        var tokens = bodies.Where(b => b.Token is not null).Select(b => b.Token).ToList();
        Assert.True(bodies.All(b => b.Error is null), string.Join("\n", Server.Logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal))));
        Assert.Equal(50, tokens.Count);
        Assert.Single(tokens.Distinct());
        Assert.Single((await Server.Accounts.ListTokensAsync(name, 100, CancellationToken.None)));
    }

    [Fact]
    public async Task The_server_counts_requests_by_action_and_new_tokens()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        await server.CreateAccountAsync("counted", "counted password");
        var client = new TokenApiClient(server.CreateClient());

        var issued = await client.GetTokenAsync("counted", "counted password");
        await client.GetTokenAsync("counted", "counted password");
        await client.GetTokenAsync("counted", "wrong password");
        await client.ValidateAsync(issued.Token!);
        await client.CallAsync(("action", "nonsense"));

        Assert.Equal(3, server.Metrics.Requests("get"));
        Assert.Equal(1, server.Metrics.Requests("validate"));
        Assert.Equal(1, server.Metrics.Requests("other"));
        Assert.Equal(1, server.Metrics.TokensIssued);
        Assert.Equal(1, server.Metrics.AuthenticationFailures);
    }
}
