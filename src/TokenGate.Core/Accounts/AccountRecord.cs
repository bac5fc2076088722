namespace TokenGate.Accounts;

/// <summary>An account as stored. <see cref="CredentialStamp"/> changes whenever the password changes or the account is disabled,
/// so that anything derived from the old credential (a token issued in flight, a cached verification) can be recognised as stale.
/// <see cref="CanIntrospect"/> marks a resource server: an account whose credentials may call the introspection endpoint.
/// <see cref="Policy"/> is what the operator set for the account alone (networks, token lifetime, token cap).</summary>
public sealed record AccountRecord(
    long Id,
    string Name,
    string PasswordHash,
    bool Enabled,
    long CredentialStamp,
    long CreatedAt,
    bool CanIntrospect = false)
{
    public AccountPolicy Policy { get; init; } = AccountPolicy.Default;
}
