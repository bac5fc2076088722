namespace TokenGate.Tests;

/// <summary>
/// The test classes that use the shared PostgreSQL cluster run one after another: one of them stops and restarts the cluster
/// (an outage test), which would fail whatever another class was doing on it at that moment.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PostgresClusterCollection
{
    public const string Name = "PostgreSQL cluster";
}
