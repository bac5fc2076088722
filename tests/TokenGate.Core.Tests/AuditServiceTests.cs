using TokenGate.Core.Tests.Fakes;
using TokenGate.Storage;

namespace TokenGate.Core.Tests;

/// <summary>The audit trail as the console uses it: what it appends comes back from a search, with the console operator's name.</summary>
public sealed class AuditServiceTests
{
    private readonly InMemoryTokenGateStore _store = new();

    [Fact]
    public async Task An_appended_entry_is_found_by_a_search_with_its_operator()
    {
        var audit = new AuditService(_store);
        var entry = new AuditEntry(1_767_225_600, "alice", "127.0.0.1", AuditActions.AccountDisable, AuditActions.Done, Operator: "admin");

        await audit.AppendAsync(entry, CancellationToken.None);

        Assert.Equal([entry], (await audit.SearchAsync(new AuditQuery(Account: "alice"), CancellationToken.None)).Select(r => r.Entry));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await audit.SearchAsync(new AuditQuery(Limit: 0), CancellationToken.None));
    }
}
