using Microsoft.AspNetCore.Server.Kestrel.Core;
using TokenGate.Server.Api;

namespace TokenGate.Server.Hosting;

/// <summary>
/// Kestrel's limits, chosen for a service whose every legitimate request is a few hundred bytes. See docs/SECURITY.md.
/// </summary>
public static class ServerLimits
{
    public const int DefaultMaxConnections = 10_000;

    /// <summary>The limits; <paramref name="maxConnections"/> is <see cref="TokenGateSettings.MaxConnections"/>.</summary>
    public static void Apply(KestrelServerLimits limits, int maxConnections = DefaultMaxConnections)
    {
        // Connections: a cap, so that idle or slow connections cannot exhaust the process's file descriptors.
        limits.MaxConcurrentConnections = maxConnections;
        limits.MaxConcurrentUpgradedConnections = maxConnections;

        // Bodies: a token.php form is at most 16 KB; larger is refused with 413 and a contract body.
        limits.MaxRequestBodySize = ContractArguments.MaxBodyLength;

        // The request line must fit a 16 KB query string (the contract's limit, answered with a contract 413); beyond
        // 32 KB Kestrel itself refuses the request line (414) before TokenGate sees it.
        limits.MaxRequestLineSize = 32 * 1024;
        limits.MaxRequestHeadersTotalSize = 32 * 1024;
        limits.MaxRequestHeaderCount = 64;

        // Slow clients: headers must arrive within 10 s, bodies at 240 bytes/s after a 5 s grace, idle connections close at 60 s.
        limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        limits.KeepAliveTimeout = TimeSpan.FromSeconds(60);
        limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
        limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
        limits.Http2.MaxStreamsPerConnection = 100;
    }
}
