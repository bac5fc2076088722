using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using TokenGate.Client.Http;

namespace TokenGate.Client.Benchmarks;

/// <summary>
/// The per-request cost of the token on the hot path: taking the cached token from the provider and putting it on a request,
/// as a bearer header or as the <c>token</c> query parameter. The token API is a stub that answers once, in setup; no network.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public class CachedTokenBenchmarks
{
    private static readonly Uri Target = new("https://api.example/v1/campaigns?page=2", UriKind.Absolute);

    private ITokenProvider _provider = null!;
    private TokenHandler _bearer = null!;
    private TokenHandler _query = null!;
    private HttpMessageInvoker _bearerPipeline = null!;
    private HttpRequestMessage _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        var expire = DateTimeOffset.UtcNow.AddHours(12).ToUnixTimeSeconds();
        var tokenApi = new HttpClient(new StubHandler($"{{\"success\":true,\"token\":\"13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e8\",\"expire\":{expire}}}"));
        _provider = TokenClients.CreateProvider(tokenApi, new TokenClientOptions
        {
            Endpoint = TokenEndpoints.ContactNowEu,
            Username = "bench",
            Password = "bench-password",
        });
        _ = _provider.GetTokenAsync().AsTask().GetAwaiter().GetResult();
        _bearer = (TokenHandler)TokenClients.CreateHandler(_provider, new TokenHandlerOptions { Placement = TokenPlacement.BearerHeader });
        _query = (TokenHandler)TokenClients.CreateHandler(_provider, new TokenHandlerOptions { Placement = TokenPlacement.QueryParameter });
        var pipeline = TokenClients.CreateHandler(_provider, new TokenHandlerOptions { Placement = TokenPlacement.BearerHeader });
        pipeline.InnerHandler = new StubHandler(body: null);
        _bearerPipeline = new HttpMessageInvoker(pipeline);
        _request = new HttpRequestMessage(HttpMethod.Get, Target);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _request.Dispose();
        _bearerPipeline.Dispose();
    }

    /// <summary>For scale: what creating the request itself costs.</summary>
    [Benchmark]
    public HttpRequestMessage NewRequest() => new(HttpMethod.Get, Target);

    [Benchmark(Baseline = true)]
    public AccessToken TakeCachedToken() => _provider.GetTokenAsync().GetAwaiter().GetResult();

    [Benchmark]
    public HttpRequestMessage TakeAndAttachBearer()
    {
        var token = _provider.GetTokenAsync().GetAwaiter().GetResult();
        _bearer.Attach(_request, Target, token);
        return _request;
    }

    /// <summary>The token goes into the URI, so a new URI (string and <see cref="Uri"/>) replaces the request's: that is the request's own allocation.</summary>
    [Benchmark]
    public HttpRequestMessage TakeAndAttachQuery()
    {
        var token = _provider.GetTokenAsync().GetAwaiter().GetResult();
        _query.Attach(_request, Target, token);
        return _request;
    }

    /// <summary>The whole handler, through to a stub that answers at once: adds the async machinery and the response check.</summary>
    [Benchmark]
    public HttpResponseMessage BearerThroughHandler() => _bearerPipeline.SendAsync(_request, CancellationToken.None).GetAwaiter().GetResult();

    private sealed class StubHandler(string? body) : HttpMessageHandler
    {
        private readonly HttpResponseMessage _empty = new(HttpStatusCode.OK);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (body is null)
            {
                return Task.FromResult(_empty);
            }

            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            response.Headers.Date = DateTimeOffset.UtcNow;
            return Task.FromResult(response);
        }
    }
}
