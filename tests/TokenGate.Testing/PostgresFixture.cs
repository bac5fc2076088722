using Xunit;

namespace TokenGate.Testing;

/// <summary>
/// One throwaway PostgreSQL cluster per test assembly, started on first use (register with
/// <c>[assembly: AssemblyFixture(typeof(PostgresFixture))]</c>). Where PostgreSQL is not installed, a test that asks for the
/// cluster is skipped with the reason — unless <c>CI</c> is <c>true</c>: CI must run these tests, so there it fails.
/// </summary>
public sealed class PostgresFixture : IAsyncDisposable
{
    private int _announced;
    private readonly Lazy<Task<PostgresCluster>> _cluster = new(PostgresCluster.StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The cluster; skips the calling test (fails it under CI=true) when PostgreSQL is missing.</summary>
    public async Task<PostgresCluster> GetClusterAsync()
    {
        try
        {
            return await _cluster.Value;
        }
        catch (PostgresMissingException missing)
        {
            if (InCi)
            {
                Assert.Fail($"CI=true and the PostgreSQL tests cannot run: {missing.Message} (.ci/run installs Debian's postgresql).");
            }

            var reason = $"{missing.Message} The PostgreSQL tests need it; set {PostgresCluster.BinariesVariable} to a folder with initdb and pg_ctl to use another installation.";
            if (Interlocked.Exchange(ref _announced, 1) == 0)
            {
                TestContext.Current.SendDiagnosticMessage($"PostgreSQL tests SKIPPED: {reason}");
            }

            Assert.Skip(reason);
            throw;
        }
    }

    /// <summary>A new empty database on the cluster and its connection string.</summary>
    public async Task<(PostgresCluster Cluster, string Database, string ConnectionString)> CreateDatabaseAsync(string prefix = "test")
    {
        var cluster = await GetClusterAsync();
        var database = await cluster.CreateDatabaseAsync(prefix);
        return (cluster, database, cluster.ConnectionString(database));
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster.IsValueCreated && _cluster.Value.IsCompletedSuccessfully)
        {
            await (await _cluster.Value).DisposeAsync();
        }
    }
}
