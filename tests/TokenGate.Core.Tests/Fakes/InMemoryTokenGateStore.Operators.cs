using TokenGate.Operators;
using TokenGate.Storage;

namespace TokenGate.Core.Tests.Fakes;

/// <summary>Console operators, the console's account queries and the audit search, in memory.</summary>
public sealed partial class InMemoryTokenGateStore
{
    private readonly Dictionary<string, OperatorRecord> _operators = new(StringComparer.Ordinal);
    private long _nextOperatorId = 1;

    public ValueTask<OperatorRecord?> FindOperatorAsync(string name, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_operators.GetValueOrDefault(name));
        }
    }

    public ValueTask<IReadOnlyList<OperatorSummary>> ListOperatorsAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult<IReadOnlyList<OperatorSummary>>(
                [.. _operators.Values.OrderBy(o => o.Name, StringComparer.Ordinal).Select(o => new OperatorSummary(o.Name, o.CreatedAt))]);
        }
    }

    public ValueTask<bool> CreateOperatorAsync(string name, string passwordHash, long createdAt, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_operators.Keys.Any(existing => string.Equals(existing, name, StringComparison.OrdinalIgnoreCase)))
            {
                return ValueTask.FromResult(false);
            }

            _operators.Add(name, new OperatorRecord(_nextOperatorId++, name, passwordHash, createdAt, OperatorRecord.NewCredentialStamp()));
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<bool> SetOperatorPasswordAsync(string name, string passwordHash, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_operators.TryGetValue(name, out var found))
            {
                return ValueTask.FromResult(false);
            }

            _operators[name] = found with { PasswordHash = passwordHash, CredentialStamp = OperatorRecord.NewCredentialStamp() };
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<bool> RemoveOperatorAsync(string name, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_operators.Remove(name));
        }
    }

    public async ValueTask<IReadOnlyList<AccountSummary>> SearchAccountsAsync(string? nameContains, string? after, int limit, long now, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return [.. (await ListAccountsAsync(now, cancellationToken))
            .Where(a => after is null || string.CompareOrdinal(a.Name, after) > 0)
            .Where(a => nameContains is null || a.Name.Contains(nameContains, StringComparison.OrdinalIgnoreCase))
            .Take(limit)];
    }

    public ValueTask<AccountCounts> CountAccountsAsync(long now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var enabled = _accounts.Values.Count(a => a.Enabled);
            return ValueTask.FromResult(new AccountCounts(enabled, _accounts.Count - enabled, _tokens.Values.Count(t => t.ExpiresAt > now)));
        }
    }

    public ValueTask<IReadOnlyList<AuditRecord>> SearchAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1, nameof(query));
        lock (_lock)
        {
            return ValueTask.FromResult<IReadOnlyList<AuditRecord>>([.. query.Search(_audit)]);
        }
    }
}
