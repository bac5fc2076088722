using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// RFC 8414 metadata at <c>/.well-known/oauth-authorization-server</c>: the issuer is the URL asked, and a client that only
/// follows the advertised endpoints and methods gets, introspects and revokes a token.
/// </summary>
public sealed class OAuth2MetadataTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task The_metadata_names_the_issuer_and_endpoints_a_client_can_use_as_advertised()
    {
        using var http = fixture.Server.CreateClient();

        using var response = await http.GetAsync(".well-known/oauth-authorization-server");
        var metadata = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var issuer = fixture.Server.BaseAddress.ToString().TrimEnd('/');
        Assert.Equal(issuer, metadata.GetProperty("issuer").GetString());
        Assert.Equal(["client_credentials"], Strings(metadata, "grant_types_supported"));
        Assert.Equal(["client_secret_basic", "client_secret_post"], Strings(metadata, "token_endpoint_auth_methods_supported"));
        Assert.Equal(["client_secret_basic", "client_secret_post"], Strings(metadata, "revocation_endpoint_auth_methods_supported"));
        Assert.Equal(["client_secret_basic", "client_secret_post"], Strings(metadata, "introspection_endpoint_auth_methods_supported"));
        Assert.Empty(Strings(metadata, "response_types_supported"));

        var (name, password) = await fixture.NewAccountAsync();
        var (introspector, introspectorPassword) = await fixture.NewAccountAsync();
        await fixture.Server.Accounts.SetIntrospectionAsync(introspector, true, CancellationToken.None);

        var issued = await PostAsync(http, metadata.GetProperty("token_endpoint").GetString()!, new() { ["grant_type"] = "client_credentials" }, name, password);
        var token = issued.GetProperty("access_token").GetString()!;
        var introspectionEndpoint = metadata.GetProperty("introspection_endpoint").GetString()!;
        Assert.True((await PostAsync(http, introspectionEndpoint, new() { ["token"] = token }, introspector, introspectorPassword)).GetProperty("active").GetBoolean());
        await PostAsync(http, metadata.GetProperty("revocation_endpoint").GetString()!, new() { ["token"] = token }, name, password);
        Assert.False((await PostAsync(http, introspectionEndpoint, new() { ["token"] = token }, introspector, introspectorPassword)).GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task The_issuer_follows_the_host_the_client_asked()
    {
        using var http = fixture.Server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, ".well-known/oauth-authorization-server");
        request.Headers.Host = "tokens.example:8443";

        using var response = await http.SendAsync(request);
        var metadata = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal("http://tokens.example:8443", metadata.GetProperty("issuer").GetString());
        Assert.Equal("http://tokens.example:8443/oauth2/token", metadata.GetProperty("token_endpoint").GetString());
    }

    private static string[] Strings(JsonElement metadata, string name) =>
        metadata.GetProperty(name).EnumerateArray().Select(value => value.GetString()!).ToArray();

    private static async Task<JsonElement> PostAsync(HttpClient http, string url, Dictionary<string, string> form, string id, string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(id)}:{Uri.EscapeDataString(secret)}")));
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}
