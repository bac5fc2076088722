using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary><c>GET /</c> names the endpoints (every one of them answers), and sends a browser to the /docs page.</summary>
public sealed class LandingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task The_root_names_the_endpoints_and_each_of_them_answers()
    {
        using var http = fixture.Server.CreateClient();

        using var response = await http.GetAsync("");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("/docs", document.RootElement.GetProperty("docs").GetString());
        Assert.Equal("/token.php", document.RootElement.GetProperty("token").GetString());
        foreach (var path in new[] { "docs", "openapi", "health", "ready" }.Select(name => document.RootElement.GetProperty(name).GetString()!))
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(path.TrimStart('/'))).StatusCode);
        }

        var validate = ContractBody.ParseJson(await http.GetStringAsync(document.RootElement.GetProperty("token").GetString()!.TrimStart('/') + "?action=validate&token=x"));
        Assert.Equal("Invalid token", validate.Error);
    }

    [Fact]
    public async Task A_browser_at_the_root_is_redirected_to_the_docs_page()
    {
        using var handler = new SocketsHttpHandler { AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = fixture.Server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/xhtml+xml"));

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(new Uri(fixture.Server.BaseAddress, "docs"), new Uri(fixture.Server.BaseAddress, response.Headers.Location!));
    }

    [Fact]
    public async Task Another_method_at_the_root_gets_a_contract_body()
    {
        using var http = fixture.Server.CreateClient();

        using var response = await http.PostAsync("", new FormUrlEncodedContent([new("action", "get")]));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("Not found", ContractBody.ParseJson(await response.Content.ReadAsStringAsync()).Error);
    }
}
