using System.Security.Cryptography;
using TokenGate.Accounts;
using TokenGate.Storage;

namespace TokenGate.Operators;

/// <summary>
/// What the <c>tokengate operator</c> commands and the operator console do with console operators: people who sign in to the
/// console, kept apart from API accounts (docs/DECISIONS.md). Names follow the rules of account names; passwords the same
/// <see cref="PasswordPolicy"/>.
/// </summary>
public sealed class OperatorService(IOperatorStore store, IPasswordHasher hasher, PasswordPolicy passwordPolicy, TimeProvider time)
{
    // Verified against when the name is unknown or malformed, so that a wrong name costs what a wrong password does.
    private readonly Lazy<string> _dummyHash = new(() => hasher.Hash(RandomNumberGenerator.GetHexString(32)), LazyThreadSafetyMode.ExecutionAndPublication);

    public PasswordPolicy PasswordPolicy => passwordPolicy;

    /// <summary>Adds an operator. Without a password, generates one and returns it (shown once, never stored in clear).</summary>
    public async ValueTask<AccountChange> AddAsync(string name, string? password, CancellationToken cancellationToken)
    {
        if (!AccountName.IsValid(name))
        {
            return AccountChange.InvalidName;
        }

        var (accepted, chosen, generated) = passwordPolicy.Choose(password, name);
        if (!accepted)
        {
            return AccountChange.PasswordRejected;
        }

        if (await store.CreateOperatorAsync(name, hasher.Hash(chosen), time.GetUtcNow().ToUnixTimeSeconds(), cancellationToken))
        {
            return AccountChange.Done(generated);
        }

        // Refused: an operator with this name ignoring case exists; say which (the exact one if it is there).
        var names = (await store.ListOperatorsAsync(cancellationToken)).Select(o => o.Name).ToList();
        var existing = names.FirstOrDefault(n => string.Equals(n, name, StringComparison.Ordinal))
            ?? names.FirstOrDefault(n => AccountNameClashes.Comparer.Equals(n, name));
        return AccountChange.Duplicate with { ExistingName = existing };
    }

    /// <summary>Sets a new password (generated when null); the operator's console sessions end (the credential stamp changes).</summary>
    public async ValueTask<AccountChange> SetPasswordAsync(string name, string? password, CancellationToken cancellationToken)
    {
        var (accepted, chosen, generated) = passwordPolicy.Choose(password, name);
        if (!accepted)
        {
            return AccountChange.PasswordRejected;
        }

        return AccountName.IsValid(name) && await store.SetOperatorPasswordAsync(name, hasher.Hash(chosen), cancellationToken)
            ? AccountChange.Done(generated)
            : AccountChange.UnknownAccount;
    }

    public async ValueTask<AccountChange> RemoveAsync(string name, CancellationToken cancellationToken) =>
        AccountName.IsValid(name) && await store.RemoveOperatorAsync(name, cancellationToken) ? AccountChange.Done() : AccountChange.UnknownAccount;

    public ValueTask<IReadOnlyList<OperatorSummary>> ListAsync(CancellationToken cancellationToken) => store.ListOperatorsAsync(cancellationToken);

    /// <summary>The operator with exactly this name, or null: the console checks a session's credential stamp against it.</summary>
    public async ValueTask<OperatorRecord?> FindAsync(string name, CancellationToken cancellationToken) =>
        AccountName.IsValid(name) ? await store.FindOperatorAsync(name, cancellationToken) : null;

    /// <summary>
    /// The operator when <paramref name="password"/> is theirs, else null. Every path costs one password verification (an unknown
    /// or malformed name is checked against a dummy hash), so timing does not tell a wrong name from a wrong password; the
    /// hasher compares in fixed time.
    /// </summary>
    public async ValueTask<OperatorRecord?> VerifyAsync(string name, string password, CancellationToken cancellationToken)
    {
        var comparable = password is { Length: > 0 } && password.Length <= passwordPolicy.MaxLength ? password : null;
        var found = comparable is not null && name is not null && AccountName.IsValid(name) ? await store.FindOperatorAsync(name, cancellationToken) : null;
        if (found is null)
        {
            hasher.Verify(_dummyHash.Value, comparable ?? string.Empty);
            return null;
        }

        // A hash made with weaker parameters is not upgraded here: storing it would change the credential stamp and end the
        // session being opened. "operator passwd" makes a new one.
        return hasher.Verify(found.PasswordHash, comparable!) == PasswordVerification.Failed ? null : found;
    }
}
