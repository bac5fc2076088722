using TokenGate.Storage;
using TokenGate.Storage.Conformance;

namespace TokenGate.Core.Tests.Fakes;

/// <summary>The fake the policy tests run on passes the same store suite as the real backends, so that it cannot drift from them.</summary>
public sealed class InMemoryStoreConformanceTests : TokenGateStoreSpecification
{
    protected override async Task<ITokenGateStore> CreateStoreAsync()
    {
        var store = new InMemoryTokenGateStore();
        await store.InitializeAsync(Cancel);
        return store;
    }

    /// <summary>One process's memory: there is no second process to open the same store from.</summary>
    protected override Task<ITokenGateStore?> OpenSecondStoreAsync(ITokenGateStore first) => Task.FromResult<ITokenGateStore?>(null);
}
