using TokenGate.Storage;

namespace TokenGate;

/// <summary>
/// The audit trail as the operator console reads and writes it: searches (newest first, paged by id) and the entries of the
/// changes an operator makes there (with <see cref="AuditEntry.Operator"/> set to their name).
/// </summary>
public sealed class AuditService(IAuditStore store)
{
    public ValueTask<IReadOnlyList<AuditRecord>> SearchAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1, nameof(query));
        return store.SearchAuditAsync(query, cancellationToken);
    }

    public ValueTask AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return store.AppendAuditAsync([entry], cancellationToken);
    }
}
