namespace TokenGate.Storage;

/// <summary>A stored token, looked up by digest, joined with what validation needs of its account. Times are Unix seconds.
/// <see cref="AllowedNetworks"/> is the account's stored network restriction (canonical text), null when it has none.</summary>
public sealed record StoredToken(
    byte[] Digest,
    long AccountId,
    string AccountName,
    bool AccountEnabled,
    string AddressKey,
    long IssuedAt,
    long ExpiresAt,
    string? AllowedNetworks = null);

/// <summary>What <see cref="ITokenIssueStore.GetOrAddTokenAsync"/> is asked to do. <see cref="SealedToken"/> is the candidate's value sealed.
/// <see cref="AlwaysAdd"/> skips the search for an existing token (used when the existing one was sealed under a key no longer held).
/// With <see cref="Audit"/>, the store writes the issue's audit entry in the issue's own transaction (<see cref="AuditEntryFor"/>).</summary>
public sealed record TokenIssueRequest(
    long AccountId,
    long CredentialStamp,
    string AddressKey,
    byte[] Digest,
    byte[] SealedToken,
    long Now,
    long ExpiresAt,
    int MaxActiveTokens,
    bool AlwaysAdd = false)
{
    /// <summary>
    /// How much later than <see cref="ExpiresAt"/> an existing token may expire and still be handed back: a few seconds, for
    /// concurrent issues whose clocks read a second apart; a token whose account's lifetime was shortened since is not.
    /// </summary>
    public const long ReuseToleranceSeconds = 5;

    /// <summary>The latest expiry of an existing token this request may be given instead of the candidate.</summary>
    public long LatestReusableExpiry => ExpiresAt + ReuseToleranceSeconds;

    /// <summary>
    /// Who asked, for the audit entry the store writes with the outcome, in the same transaction: a token added and its
    /// <c>issued</c> entry commit together (a crash loses neither alone), as does a <c>too many tokens</c> refusal's. Null: no
    /// entry is written.
    /// </summary>
    public IssueAudit? Audit { get; init; }

    /// <summary>The audit entry of <paramref name="status"/> for this request: for <see cref="TokenIssueStatus.Added"/> and
    /// <see cref="TokenIssueStatus.TooManyTokens"/> when <see cref="Audit"/> is set; null otherwise (nothing to write).</summary>
    public AuditEntry? AuditEntryFor(TokenIssueStatus status) => Audit is not { } audit
        ? null
        : status switch
        {
            TokenIssueStatus.Added => new AuditEntry(Now, audit.Account, audit.Client, audit.Action, AuditActions.Issued, TokenGate.Tokens.TokenValue.IdOf(Digest)),
            TokenIssueStatus.TooManyTokens => new AuditEntry(Now, audit.Account, audit.Client, audit.Action, AuditActions.TooManyTokens),
            _ => null,
        };
}

/// <summary>The audit entry's who and what for an issue (<see cref="TokenIssueRequest.Audit"/>): the account's name, the
/// client's address and the action (<see cref="AuditActions.Get"/>). A struct: every <c>get</c> makes one, and a repeat get
/// answered from memory allocates nothing for it.</summary>
public readonly record struct IssueAudit(string Account, string? Client, string Action);

public enum TokenIssueStatus
{
    /// <summary>The candidate was stored.</summary>
    Added,

    /// <summary>An unexpired token for the same account and address set already existed; it is returned.</summary>
    Existing,

    /// <summary>The account was disabled, removed or had its password changed since the caller verified it.</summary>
    CredentialsChanged,

    /// <summary>The account already holds as many unexpired tokens as it may.</summary>
    TooManyTokens,
}

/// <summary>The outcome of <see cref="ITokenIssueStore.GetOrAddTokenAsync"/>; token fields are set for Added and Existing.</summary>
public sealed record TokenIssueResult(TokenIssueStatus Status, byte[]? Digest = null, byte[]? SealedToken = null, long ExpiresAt = 0)
{
    public static readonly TokenIssueResult CredentialsChanged = new(TokenIssueStatus.CredentialsChanged);
    public static readonly TokenIssueResult TooManyTokens = new(TokenIssueStatus.TooManyTokens);
}

public sealed record AccountSummary(string Name, bool Enabled, long CreatedAt, int ActiveTokens, bool CanIntrospect = false)
{
    public TokenGate.Accounts.AccountPolicy Policy { get; init; } = TokenGate.Accounts.AccountPolicy.Default;
}

/// <summary>The console's overview: accounts enabled and disabled, and tokens not yet expired.</summary>
public sealed record AccountCounts(int Enabled, int Disabled, long LiveTokens);

/// <summary>A token as operators see it: its non-secret id, never its value.</summary>
public sealed record TokenSummary(string Id, string AccountName, string AddressKey, long IssuedAt, long ExpiresAt);

/// <summary>The database cannot be reached or written now (down, locked, full, read-only). Maps to HTTP 503.</summary>
public sealed class StorageUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>The database's schema cannot be used by this build (it is newer than the build understands).</summary>
public sealed class StorageSchemaException(string message) : Exception(message);
