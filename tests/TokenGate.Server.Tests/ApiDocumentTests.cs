using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using TokenGate.Contract;
using TokenGate.Server.Api;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>The OpenAPI document is valid, served as checked in, and describes exactly what the server maps and answers.</summary>
public sealed class ApiDocumentTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static string CheckedIn => Path.Combine(RepositoryPaths.Root, "src", "TokenGate.Server", "Api", "OpenApi", "openapi.json");

    [Fact]
    public async Task The_server_serves_the_checked_in_document_and_a_page_that_renders_it()
    {
        using var http = fixture.Server.CreateClient();

        var served = await http.GetByteArrayAsync("openapi.json");
        var page = await http.GetAsync("docs");

        Assert.Equal(await File.ReadAllBytesAsync(CheckedIn), served);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("fetch(\"openapi.json\")", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_page_runs_only_its_own_inline_script_and_style_under_a_strict_policy_and_cannot_be_framed()
    {
        using var http = fixture.Server.CreateClient();

        var page = await http.GetAsync("docs");
        var html = await page.Content.ReadAsStringAsync();
        var policy = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        var directives = policy.Split(';', StringSplitOptions.TrimEntries).ToDictionary(d => d.Split(' ')[0], d => d[(d.IndexOf(' ', StringComparison.Ordinal) + 1)..]);

        Assert.DoesNotContain("unsafe-", policy, StringComparison.Ordinal);
        Assert.Equal("'none'", directives["default-src"]);
        Assert.Equal($"'sha256-{InlineHash(html, "script")}'", directives["script-src"]);
        Assert.Equal($"'sha256-{InlineHash(html, "style")}'", directives["style-src"]);
        Assert.Equal("'self'", directives["connect-src"]);
        Assert.Equal("'none'", directives["frame-ancestors"]);
        Assert.Equal("'none'", directives["base-uri"]);
        Assert.Equal("'none'", directives["object-src"]);
        Assert.DoesNotContain(" style=", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"<[a-z]+[^<>]*\son[a-z]+\s*=", html);
    }

    /// <summary>The base64 SHA-256 of the text of the page's one inline element, as a browser computes it for CSP.</summary>
    private static string InlineHash(string html, string element)
    {
        var start = html.IndexOf($"<{element}>", StringComparison.Ordinal) + element.Length + 2;
        var text = html[start..html.IndexOf($"</{element}>", StringComparison.Ordinal)];
        return Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    [Fact]
    public void The_document_is_valid_openapi_3_1()
    {
        var result = OpenApiDocument.Parse(File.ReadAllText(CheckedIn), "json");

        Assert.Empty(result.Diagnostic!.Errors);
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, result.Diagnostic.SpecificationVersion);
        Assert.NotNull(result.Document);
    }

    [Fact]
    public void The_document_describes_every_route_the_server_maps_and_no_other()
    {
        var routes = fixture.Server.App.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'))
            .Where(route => !route.Contains('{', StringComparison.Ordinal))
            .ToHashSet();
        using var document = JsonDocument.Parse(File.ReadAllText(CheckedIn));
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();

        Assert.Equal(routes.Order(StringComparer.Ordinal), paths.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_error_text_the_token_api_can_answer_is_in_the_document()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(CheckedIn));
        var documented = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("ContractResult")
            .GetProperty("properties").GetProperty("error").GetProperty("enum").EnumerateArray().Select(e => e.GetString()).ToHashSet();
        var texts = typeof(ContractErrors).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral)
            .Select(f => (string)f.GetRawConstantValue()!)
            .Concat(new[] { "action", "format", "address", "password", "username", "token" }.Select(ContractErrors.BadArgument));

        Assert.All(texts, text => Assert.Contains(text, documented));
    }
}
