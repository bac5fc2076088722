using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using TokenGate.Server.Api;
using TokenGate.Tokens;

namespace TokenGate.Benchmarks;

/// <summary>Reading the token.php arguments, the address list, and the token's digest: the work before any lookup.</summary>
[MemoryDiagnoser]
public class ParsingBenchmarks
{
    private const string Token = "13036ea7949b5f5bea79ca1d4c76cc2d56e2d9e8";
    private readonly DefaultHttpContext _validate = new();
    private readonly DefaultHttpContext _get = new();
    private readonly byte[] _getBody = Encoding.ASCII.GetBytes($"action=get&username={Fixture.Username}&password={Fixture.Password}");
    private readonly MemoryStream _getStream = new();

    [GlobalSetup]
    public void Setup()
    {
        _validate.Request.Method = HttpMethods.Get;
        _validate.Request.QueryString = new QueryString($"?action=validate&token={Token}");

        _getStream.Write(_getBody);
        _get.Request.Method = HttpMethods.Post;
        _get.Request.ContentType = "application/x-www-form-urlencoded";
        _get.Request.ContentLength = _getBody.Length;
        _get.Request.Body = _getStream;
    }

    [Benchmark(Description = "arguments: GET validate (query string)")]
    public async Task<string?> ValidateQuery() => (await ContractArguments.ReadAsync(_validate.Request, CancellationToken.None))[ContractArguments.Token];

    [Benchmark(Description = "arguments: POST get (urlencoded form)")]
    public async Task<string?> GetForm()
    {
        _getStream.Position = 0;
        return (await ContractArguments.ReadAsync(_get.Request, CancellationToken.None))[ContractArguments.Password];
    }

    [Benchmark(Description = "AddressSet.TryParse one IPv4")]
    public AddressSet? ParseOneAddress() => AddressSet.TryParse("203.0.113.7", out var set) ? set : null;

    [Benchmark(Description = "AddressSet.TryParse IPv4 + IPv6")]
    public AddressSet? ParseTwoAddresses() => AddressSet.TryParse("203.0.113.7, 2001:db8::7", out var set) ? set : null;

    [Benchmark(Description = "AddressSet.Single (get without address)")]
    public AddressSet SingleAddress() => AddressSet.Single(Fixture.Caller);

    [Benchmark(Description = "AddressSet.FromKey (a stored set read back)")]
    public AddressSet FromKey() => AddressSet.FromKey("127.0.0.1");

    [Benchmark(Description = "TokenValue.ComputeDigest (SHA-256, new array)")]
    public byte[] Digest() => TokenValue.ComputeDigest(Token);
}
