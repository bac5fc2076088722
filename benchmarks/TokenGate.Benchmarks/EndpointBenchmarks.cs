using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using TokenGate.Tokens;

namespace TokenGate.Benchmarks;

/// <summary>
/// The token.php endpoint as a whole (arguments, action, caches, rendering, writing), without Kestrel: what TokenGate adds to
/// each request on top of ASP.NET Core. One DefaultHttpContext per scenario is reused; Kestrel's own per-request work is not here.
/// </summary>
[MemoryDiagnoser]
public class EndpointBenchmarks
{
    private Fixture _fixture = null!;
    private DefaultHttpContext _validateJson = null!;
    private DefaultHttpContext _validateXml = null!;
    private DefaultHttpContext _get = null!;
    private MemoryStream _getBody = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _fixture = await Fixture.CreateAsync();
        var token = _fixture.Tokens[0];
        await _fixture.Cached.Validator.ValidateAsync(token, Fixture.Caller, CancellationToken.None);
        await _fixture.Cached.GetTokenAsync(Fixture.Username, Fixture.Password, AddressSet.Single(Fixture.Caller), CancellationToken.None);

        _validateJson = Context(HttpMethods.Get, $"?action=validate&token={token}");
        _validateXml = Context(HttpMethods.Get, $"?action=validate&token={token}&format=xml");
        _get = Context(HttpMethods.Post, string.Empty);
        _getBody = new MemoryStream(Encoding.ASCII.GetBytes($"action=get&username={Fixture.Username}&password={Fixture.Password}"));
        _get.Request.ContentType = "application/x-www-form-urlencoded";
        _get.Request.ContentLength = _getBody.Length;
        _get.Request.Body = _getBody;
    }

    [GlobalCleanup]
    public async Task Cleanup() => await _fixture.DisposeAsync();

    [Benchmark(Description = "token.php validate JSON (hot token)")]
    public Task ValidateJson() => Handle(_validateJson);

    [Benchmark(Description = "token.php validate XML (hot token)")]
    public Task ValidateXml() => Handle(_validateXml);

    [Benchmark(Description = "token.php get (existing token, POST form)")]
    public Task Get()
    {
        _getBody.Position = 0;
        return Handle(_get);
    }

    private Task Handle(DefaultHttpContext context) => _fixture.Endpoint.HandleAsync(context);

    private static DefaultHttpContext Context(string method, string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = "/token.php";
        if (query.Length > 0)
        {
            context.Request.QueryString = new QueryString(query);
        }

        context.Connection.RemoteIpAddress = Fixture.Caller;
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        return context;
    }
}
