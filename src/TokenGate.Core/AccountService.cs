using TokenGate.Accounts;
using TokenGate.Storage;
using TokenGate.Tokens;

namespace TokenGate;

/// <summary>What operators do to accounts and tokens (the <c>tokengate account</c> and <c>tokengate token</c> commands).</summary>
public sealed class AccountService(ITokenGateStore store, IPasswordHasher hasher, PasswordPolicy passwordPolicy, TokenPolicyOptions tokenOptions, TimeProvider time)
{
    public PasswordPolicy PasswordPolicy => passwordPolicy;

    /// <summary>Creates an account. Without a password, generates one and returns it (it is shown once and never stored in clear).</summary>
    public async ValueTask<AccountChange> CreateAsync(string name, string? password, CancellationToken cancellationToken)
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

        var created = await store.CreateAccountAsync(name, hasher.Hash(chosen), time.GetUtcNow().ToUnixTimeSeconds(), cancellationToken);
        if (created)
        {
            return AccountChange.Done(generated);
        }

        // Refused: an account with this name ignoring case exists; say which (the exact one if it is there).
        var names = (await ListAsync(cancellationToken)).Select(account => account.Name).ToList();
        var existing = names.FirstOrDefault(n => string.Equals(n, name, StringComparison.Ordinal))
            ?? names.FirstOrDefault(n => AccountNameClashes.Comparer.Equals(n, name));
        return AccountChange.Duplicate with { ExistingName = existing };
    }

    /// <summary>Sets a new password; every token of the account is deleted (a password change signs out every holder).</summary>
    public async ValueTask<AccountChange> SetPasswordAsync(string name, string? password, CancellationToken cancellationToken)
    {
        var (accepted, chosen, generated) = passwordPolicy.Choose(password, name);
        if (!accepted)
        {
            return AccountChange.PasswordRejected;
        }

        var account = await store.FindAccountAsync(name, cancellationToken);
        if (account is null)
        {
            return AccountChange.UnknownAccount;
        }

        return await store.ChangePasswordAsync(account.Id, hasher.Hash(chosen), keepTokenDigest: null, cancellationToken)
            ? AccountChange.Done(generated)
            : AccountChange.UnknownAccount;
    }

    public async ValueTask<AccountChange> SetEnabledAsync(string name, bool enabled, CancellationToken cancellationToken) =>
        await store.SetAccountEnabledAsync(name, enabled, cancellationToken) ? AccountChange.Done() : AccountChange.UnknownAccount;

    /// <summary>Lets an account call the introspection endpoint (a resource server), or stops it.</summary>
    public async ValueTask<AccountChange> SetIntrospectionAsync(string name, bool allowed, CancellationToken cancellationToken) =>
        await store.SetAccountIntrospectionAsync(name, allowed, cancellationToken) ? AccountChange.Done() : AccountChange.UnknownAccount;

    /// <summary>
    /// Changes an account's policy (networks, token lifetime, token cap); the parts <paramref name="change"/> leaves out stay as
    /// they are. Every instance follows it within a second (the store moves the revocation epoch): tokens bound outside newly
    /// narrowed networks stop validating at once; existing tokens keep their expiry.
    /// </summary>
    public async ValueTask<AccountChange> SetPolicyAsync(string name, AccountPolicyChange change, CancellationToken cancellationToken)
    {
        var account = AccountName.IsValid(name) ? await store.FindAccountAsync(name, cancellationToken) : null;
        if (account is null)
        {
            return AccountChange.UnknownAccount;
        }

        var policy = change.ApplyTo(account.Policy);
        if (!IsValid(policy))
        {
            return AccountChange.InvalidPolicy;
        }

        return change.IsEmpty || await store.SetAccountPolicyAsync(name, policy, cancellationToken) ? AccountChange.Done() : AccountChange.UnknownAccount;
    }

    /// <summary>One account as <see cref="ListAsync"/> shows it, or null when there is none.</summary>
    public async ValueTask<AccountSummary?> ShowAsync(string name, CancellationToken cancellationToken) =>
        AccountName.IsValid(name) ? (await ListAsync(cancellationToken)).FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.Ordinal)) : null;

    /// <summary>The groups of existing account names that differ only in case (see <see cref="AccountNameClashes"/>).</summary>
    public ValueTask<IReadOnlyList<IReadOnlyList<string>>> NameClashesAsync(CancellationToken cancellationToken) =>
        AccountNameClashes.FindAsync(store, time.GetUtcNow().ToUnixTimeSeconds(), cancellationToken);

    /// <summary>The server-wide settings a policy part falls back to (for display).</summary>
    public TokenPolicyOptions TokenOptions => tokenOptions;

    public async ValueTask<AccountChange> RemoveAsync(string name, CancellationToken cancellationToken) =>
        await store.RemoveAccountAsync(name, cancellationToken) ? AccountChange.Done() : AccountChange.UnknownAccount;

    public ValueTask<IReadOnlyList<AccountSummary>> ListAsync(CancellationToken cancellationToken) =>
        store.ListAccountsAsync(time.GetUtcNow().ToUnixTimeSeconds(), cancellationToken);

    /// <summary>A page of accounts by name for the console: after <paramref name="after"/>, containing <paramref name="nameContains"/>
    /// ignoring case (see <see cref="IAccountStore.SearchAccountsAsync"/>).</summary>
    public ValueTask<IReadOnlyList<AccountSummary>> SearchAsync(string? nameContains, string? after, int limit, CancellationToken cancellationToken) =>
        store.SearchAccountsAsync(string.IsNullOrEmpty(nameContains) ? null : nameContains, after, limit, time.GetUtcNow().ToUnixTimeSeconds(), cancellationToken);

    /// <summary>Accounts enabled and disabled, and live tokens, now.</summary>
    public ValueTask<AccountCounts> CountAsync(CancellationToken cancellationToken) =>
        store.CountAccountsAsync(time.GetUtcNow().ToUnixTimeSeconds(), cancellationToken);

    public async ValueTask<bool> ExistsAsync(string name, CancellationToken cancellationToken) =>
        AccountName.IsValid(name) && await store.FindAccountAsync(name, cancellationToken) is not null;

    public ValueTask<IReadOnlyList<TokenSummary>> ListTokensAsync(string? accountName, int limit, CancellationToken cancellationToken) =>
        store.ListTokensAsync(accountName, limit, cancellationToken);

    public ValueTask<int> RevokeTokensAsync(string? accountName, CancellationToken cancellationToken) =>
        store.RevokeTokensAsync(accountName, cancellationToken);

    /// <summary>Revokes the token with this id (as <c>token list</c> shows it); the account it belonged to, or null when no token has it.</summary>
    public ValueTask<string?> RevokeTokenByIdAsync(string id, CancellationToken cancellationToken) =>
        TokenValue.TryGetDigestRange(id, out var low, out var high)
            ? store.RevokeTokenByIdAsync(low, high, cancellationToken)
            : throw new ArgumentException("Not a token id.", nameof(id));

    /// <summary>
    /// Deletes tokens past the retention window (or, with <paramref name="includeRetained"/>, every expired token), in batches
    /// of <paramref name="batchSize"/> so that no transaction holds the database for long. Then clears the store's legacy-token
    /// marker (<see cref="ILegacyTokenMarker"/>) once the last token issued before tags is past the same cutoff.
    /// </summary>
    public async ValueTask<int> PurgeExpiredTokensAsync(bool includeRetained, int batchSize, TimeSpan pauseBetweenBatches, CancellationToken cancellationToken)
    {
        // The loop ends on a short batch; a batch size below 1 would never give one.
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var cutoff = includeRetained ? now : now - (long)tokenOptions.ExpiredRetention.TotalSeconds;
        var total = 0;
        while (true)
        {
            var deleted = await store.PurgeExpiredTokensAsync(cutoff, batchSize, cancellationToken);
            total += deleted;
            if (deleted < batchSize)
            {
                if (store is ILegacyTokenMarker { LegacyTokensExpireAt: not null } marker)
                {
                    await marker.ClearLegacyTokenMarkerAsync(cutoff, cancellationToken);
                }

                return total;
            }

            if (pauseBetweenBatches > TimeSpan.Zero)
            {
                await Task.Delay(pauseBetweenBatches, time, cancellationToken);
            }
        }
    }

    private static bool IsValid(AccountPolicy policy) =>
        (policy.TokenLifetime is not { } lifetime || AccountPolicy.IsValidLifetime(lifetime))
        && (policy.MaxTokens is not { } max || AccountPolicy.IsValidMaxTokens(max))
        && policy.AllowedNetworks is not { Networks.Count: 0 };
}

public enum AccountChangeStatus
{
    Done,
    InvalidName,
    Duplicate,
    UnknownAccount,
    PasswordRejected,
    InvalidPolicy,
}

/// <summary>The outcome of an operator's change; <see cref="GeneratedPassword"/> is set when TokenGate chose the password.</summary>
public sealed record AccountChange(AccountChangeStatus Status, string? GeneratedPassword = null)
{
    /// <summary>For <see cref="AccountChangeStatus.Duplicate"/>: the existing account's name, which may differ in case.</summary>
    public string? ExistingName { get; init; }

    public static readonly AccountChange InvalidName = new(AccountChangeStatus.InvalidName);
    public static readonly AccountChange Duplicate = new(AccountChangeStatus.Duplicate);
    public static readonly AccountChange UnknownAccount = new(AccountChangeStatus.UnknownAccount);
    public static readonly AccountChange PasswordRejected = new(AccountChangeStatus.PasswordRejected);
    public static readonly AccountChange InvalidPolicy = new(AccountChangeStatus.InvalidPolicy);

    public static AccountChange Done(string? generatedPassword = null) => new(AccountChangeStatus.Done, generatedPassword);

    /// <summary>Never prints the generated password.</summary>
    public override string ToString() => GeneratedPassword is null ? Status.ToString() : $"{Status} (password generated)";
}
