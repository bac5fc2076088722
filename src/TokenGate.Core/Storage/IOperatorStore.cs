using TokenGate.Operators;

namespace TokenGate.Storage;

/// <summary>
/// Console operators (<see cref="OperatorService"/>): names follow the rules of account names (<see cref="Accounts.AccountName"/>),
/// are unique ignoring case, and are looked up exactly.
/// </summary>
public interface IOperatorStore
{
    /// <summary>The operator with exactly this name, or null.</summary>
    ValueTask<OperatorRecord?> FindOperatorAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every operator, by name (ordinal).</summary>
    ValueTask<IReadOnlyList<OperatorSummary>> ListOperatorsAsync(CancellationToken cancellationToken);

    /// <summary>Adds an operator with a fresh credential stamp; false when the name is taken (ignoring case).</summary>
    ValueTask<bool> CreateOperatorAsync(string name, string passwordHash, long createdAt, CancellationToken cancellationToken);

    /// <summary>Sets a new password hash and a new credential stamp (ending the operator's console sessions). False when unknown.</summary>
    ValueTask<bool> SetOperatorPasswordAsync(string name, string passwordHash, CancellationToken cancellationToken);

    /// <summary>Removes an operator. False when unknown.</summary>
    ValueTask<bool> RemoveOperatorAsync(string name, CancellationToken cancellationToken);
}
