using BenchmarkDotNet.Attributes;
using TokenGate.Security;
using TokenGate.Tokens;

namespace TokenGate.Benchmarks;

/// <summary>
/// TokenService against a real SQLite store: validate with the caches warm (the hot path of <c>tokengate serve</c>), with the
/// caches off (a SQLite read per request), and of an unknown token (always a SQLite read); get of an existing token with the
/// credential and current-token caches warm; and the revocation-epoch check every cached answer makes first.
/// </summary>
[MemoryDiagnoser]
public class LookupBenchmarks
{
    private Fixture _fixture = null!;
    private string _hot = null!;
    private AddressSet _loopback = null!;
    private int _next;

    [GlobalSetup]
    public async Task Setup()
    {
        _fixture = await Fixture.CreateAsync();
        _hot = _fixture.Tokens[0];
        _loopback = AddressSet.Single(Fixture.Caller);

        // Fill the caches as traffic would.
        foreach (var token in _fixture.Tokens)
        {
            await _fixture.Cached.Validator.ValidateAsync(token, Fixture.Caller, CancellationToken.None);
        }

        await _fixture.Cached.GetTokenAsync(Fixture.Username, Fixture.Password, _loopback, CancellationToken.None);
    }

    [GlobalCleanup]
    public async Task Cleanup() => await _fixture.DisposeAsync();

    [Benchmark(Description = "validate, cache warm, one hot token")]
    public async Task<TokenStatus> ValidateHot() => (await _fixture.Cached.Validator.ValidateAsync(_hot, Fixture.Caller, CancellationToken.None)).Status;

    [Benchmark(Description = "validate, cache warm, 64 tokens in turn")]
    public async Task<TokenStatus> ValidateRotating()
    {
        var token = _fixture.Tokens[_next++ % _fixture.Tokens.Count];
        return (await _fixture.Cached.Validator.ValidateAsync(token, Fixture.Caller, CancellationToken.None)).Status;
    }

    [Benchmark(Description = "validate, cache off (SQLite read)")]
    public async Task<TokenStatus> ValidateCold() => (await _fixture.Uncached.Validator.ValidateAsync(_hot, Fixture.Caller, CancellationToken.None)).Status;

    [Benchmark(Description = "validate, unknown token (SQLite miss)")]
    public async Task<TokenStatus> ValidateUnknown() =>
        (await _fixture.Cached.Validator.ValidateAsync("0123456789abcdef0123456789abcdef01234567", Fixture.Caller, CancellationToken.None)).Status;

    [Benchmark(Description = "get, existing token, caches warm")]
    public async Task<string?> GetExisting() =>
        (await _fixture.Cached.GetTokenAsync(Fixture.Username, Fixture.Password, _loopback, CancellationToken.None)).Token;

    [Benchmark(Description = "get, existing token, from the store (caches off, no PBKDF2 counted)")]
    public async Task<string?> FindCurrentAndUnseal()
    {
        var current = await _fixture.Store.FindCurrentTokenAsync(1, _loopback.Key, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), long.MaxValue, CancellationToken.None);
        return _fixture.Sealer.TryUnseal(current!.SealedToken, current.Digest, out var token) ? token : null;
    }

    [Benchmark(Description = "store.ObserveRevocationEpoch (the mapped WAL-index header)")]
    public long? ObserveEpoch() => _fixture.Store.ObserveRevocationEpoch();
}
