namespace TokenGate.Accounts;

/// <summary>An account as stored. <see cref="CredentialStamp"/> changes whenever the password changes or the account is disabled,
/// so that anything derived from the old credential (a token issued in flight, a cached verification) can be recognised as stale.</summary>
public sealed record AccountRecord(
    long Id,
    string Name,
    string PasswordHash,
    bool Enabled,
    long CredentialStamp,
    long CreatedAt);
