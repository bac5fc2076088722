using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace TokenGate.Server.Operations;

/// <summary>Readiness: the store answers a read. Liveness (<c>/healthz</c>) checks nothing but the process.</summary>
public sealed class StoreHealthCheck(ITokenGateStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // A name no account can have: a real read of the accounts table, never a hit.
            await store.FindAccountAsync("(readiness probe)", cancellationToken);
            return HealthCheckResult.Healthy("The store answers.");
        }
        catch (StorageUnavailableException exception)
        {
            return HealthCheckResult.Unhealthy("The store is unavailable.", exception);
        }
    }
}
