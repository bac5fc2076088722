using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TokenGate.Client.Protocol;

namespace TokenGate.Client.Tests;

/// <summary>The vendor's sample responses (shared/seeds) and the contract's parse as the answers they are.</summary>
public sealed class FixtureTests
{
    public static TheoryData<string, bool, string?, long?, string?> Samples() => new()
    {
        { "seed-authentication-failure.json", false, null, null, "Authentication failure" },
        { "seed-get.json", true, "13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e8", 1510514548, null },
        { "seed-validate.json", true, null, 1510515149, null },
        { "seed-invalid-token.json", false, null, null, "Invalid token" },
        { "seed-expired-token.json", false, null, -1, "Expired token" },
        { "seed-get-fragment.xml", true, "bd932b769fc7263316345627d0a9ef3b8f8d1f8d", null, null },
        { "contract-get.json", true, "13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e8", 1510514548, null },
        { "contract-success.json", true, null, null, null },
        { "contract-get.xml", true, "bd932b769fc7263316345627d0a9ef3b8f8d1f8d", 1307975676, null },
        { "contract-invalid-token.xml", false, null, null, "Invalid token" },
        { "contract-expired-token.xml", false, null, -1, "Expired token" },
    };

    private static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));

    [Theory]
    [MemberData(nameof(Samples))]
    public void A_sample_response_parses_to_its_fields(string file, bool success, string? token, long? expire, string? error)
    {
        Assert.True(ContractReply.TryParse(Fixture(file), out var reply));

        Assert.Equal(new ContractReply(success, token, expire, error), reply);
    }

    [Theory]
    [InlineData("{\"success\":\"1\",\"token\":\"abc\",\"expire\":\"1510514548\"}", true, 1510514548L)]
    [InlineData("{\"success\":1,\"expire\":1510514548,}", true, 1510514548L)]
    [InlineData("\uFEFF {\"success\":\"false\",/* PHP */ \"error\":\"Invalid token\",\"extra\":{\"a\":[1,2]}}", false, null)]
    [InlineData("<result><success> 1 </success><debug><token>nested</token></debug><expire>1510514548</expire></result>", true, 1510514548L)]
    public void Lenient_forms_that_PHP_code_sends_are_read(string body, bool success, long? expire)
    {
        Assert.True(ContractReply.TryParse(Encoding.UTF8.GetBytes(body), out var reply));

        Assert.Equal(success, reply.Success);
        Assert.Equal(expire, reply.Expire);
        Assert.NotEqual("nested", reply.Token);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[{\"success\":true}]")]
    [InlineData("{\"success\":true")]
    [InlineData("<html><body>Bad gateway</body></html>")]
    [InlineData("<!DOCTYPE result [<!ENTITY x \"y\">]><result><success>1</success></result>")]
    [InlineData("<result><success>1</success><token><b>x</b></token></result>")]
    public void Bodies_that_are_not_token_api_answers_are_refused(string body)
    {
        Assert.False(ContractReply.TryParse(Encoding.UTF8.GetBytes(body), out var reply) && reply.IsContractBody);
    }

    [Fact]
    public async Task The_seed_samples_served_over_http_become_results_and_typed_exceptions()
    {
        var bodies = new Queue<string>(new[] { "seed-get.json", "seed-validate.json", "seed-invalid-token.json", "seed-expired-token.json", "seed-authentication-failure.json" }
            .Select(f => Encoding.UTF8.GetString(Fixture(f))));
        await using var app = await WebApp.StartAsync(web => web.Map("/api/token.php", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(bodies.Dequeue());
        }));
        var api = TokenClients.CreateApiClient(Clients.Http(), new TokenClientOptions { Endpoint = new Uri(app.BaseAddress, "api/token.php") });

        var token = await api.GetTokenAsync("user", "password");
        var expiry = await api.ValidateTokenAsync(token.Value);
        var invalid = await Assert.ThrowsAsync<InvalidTokenException>(() => api.ValidateTokenAsync(token.Value));
        var expired = await Assert.ThrowsAsync<ExpiredTokenException>(() => api.ValidateTokenAsync(token.Value));
        var authentication = await Assert.ThrowsAsync<TokenAuthenticationException>(() => api.GetTokenAsync("user", "password"));

        Assert.Equal("13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e8", token.Value);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1510514548), token.ExpiresAt);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1510515149), expiry);
        Assert.Equal("Invalid token", invalid.Error);
        Assert.Equal("Expired token", expired.Error);
        Assert.Equal("Authentication failure", authentication.Error);
    }
}
