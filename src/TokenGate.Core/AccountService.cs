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

        var (accepted, chosen, generated) = ChoosePassword(password, name);
        if (!accepted)
        {
            return AccountChange.PasswordRejected;
        }

        var created = await store.CreateAccountAsync(name, hasher.Hash(chosen), time.GetUtcNow().ToUnixTimeSeconds(), cancellationToken);
        return created ? AccountChange.Done(generated) : AccountChange.Duplicate;
    }

    /// <summary>Sets a new password; every token of the account is deleted (a password change signs out every holder).</summary>
    public async ValueTask<AccountChange> SetPasswordAsync(string name, string? password, CancellationToken cancellationToken)
    {
        var (accepted, chosen, generated) = ChoosePassword(password, name);
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

    public async ValueTask<AccountChange> RemoveAsync(string name, CancellationToken cancellationToken) =>
        await store.RemoveAccountAsync(name, cancellationToken) ? AccountChange.Done() : AccountChange.UnknownAccount;

    public ValueTask<IReadOnlyList<AccountSummary>> ListAsync(CancellationToken cancellationToken) =>
        store.ListAccountsAsync(time.GetUtcNow().ToUnixTimeSeconds(), cancellationToken);

    public async ValueTask<bool> ExistsAsync(string name, CancellationToken cancellationToken) =>
        AccountName.IsValid(name) && await store.FindAccountAsync(name, cancellationToken) is not null;

    public ValueTask<IReadOnlyList<TokenSummary>> ListTokensAsync(string? accountName, int limit, CancellationToken cancellationToken) =>
        store.ListTokensAsync(accountName, limit, cancellationToken);

    public ValueTask<int> RevokeTokensAsync(string? accountName, CancellationToken cancellationToken) =>
        store.RevokeTokensAsync(accountName, cancellationToken);

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

    private (bool Accepted, string Password, string? Generated) ChoosePassword(string? password, string name)
    {
        if (password is null)
        {
            var generated = passwordPolicy.Generate();
            return (true, generated, generated);
        }

        return (passwordPolicy.Accepts(password, name), password, null);
    }
}

public enum AccountChangeStatus
{
    Done,
    InvalidName,
    Duplicate,
    UnknownAccount,
    PasswordRejected,
}

/// <summary>The outcome of an operator's change; <see cref="GeneratedPassword"/> is set when TokenGate chose the password.</summary>
public sealed record AccountChange(AccountChangeStatus Status, string? GeneratedPassword = null)
{
    public static readonly AccountChange InvalidName = new(AccountChangeStatus.InvalidName);
    public static readonly AccountChange Duplicate = new(AccountChangeStatus.Duplicate);
    public static readonly AccountChange UnknownAccount = new(AccountChangeStatus.UnknownAccount);
    public static readonly AccountChange PasswordRejected = new(AccountChangeStatus.PasswordRejected);

    public static AccountChange Done(string? generatedPassword = null) => new(AccountChangeStatus.Done, generatedPassword);

    /// <summary>Never prints the generated password.</summary>
    public override string ToString() => GeneratedPassword is null ? Status.ToString() : $"{Status} (password generated)";
}
