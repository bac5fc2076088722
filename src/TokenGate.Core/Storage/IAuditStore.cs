namespace TokenGate.Storage;

/// <summary>
/// The audit trail: who did what to which token, from where, and how it ended. Never a password or a token value: tokens appear
/// by their non-secret id, and a failed login names the account only when it exists.
/// </summary>
public interface IAuditStore
{
    /// <summary>Appends entries in one transaction.</summary>
    ValueTask AppendAuditAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken);

    /// <summary>
    /// Entries that match every filter of <paramref name="query"/>, newest first, at most <see cref="AuditQuery.Limit"/>, after
    /// the entry <see cref="AuditQuery.BeforeId"/> when given (the next page starts after the last entry of the previous):
    /// <see cref="AuditQuery.Search"/> is the rule.
    /// </summary>
    ValueTask<IReadOnlyList<AuditRecord>> SearchAuditAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>Deletes at most <paramref name="batchSize"/> entries older than <paramref name="before"/>; returns how many.</summary>
    ValueTask<int> PurgeAuditAsync(long before, int batchSize, CancellationToken cancellationToken);
}

/// <summary>What every audit store answers through <see cref="IAuditStore.SearchAuditAsync"/>.</summary>
public static class AuditStoreExtensions
{
    /// <summary>
    /// Entries newest first, optionally of one account and at or after <paramref name="since"/> (Unix seconds): the search of
    /// <see cref="AuditQuery"/> with those filters, its entries without their ids.
    /// </summary>
    public static async ValueTask<IReadOnlyList<AuditEntry>> ListAuditAsync(this IAuditStore store, string? accountName, long? since, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return [.. (await store.SearchAuditAsync(new AuditQuery(Account: accountName, From: since, Limit: limit), cancellationToken)).Select(r => r.Entry)];
    }
}

/// <summary>
/// One audited event. <see cref="At"/> is Unix seconds; <see cref="Client"/> is an IP address, or <c>cli</c> for an operator's
/// command. <see cref="Operator"/> names the console operator who made a change through the console; null for the CLI and the API.
/// </summary>
public sealed record AuditEntry(long At, string? Account, string? Client, string Action, string Outcome, string? TokenId = null, string? Operator = null);

/// <summary>A stored audit entry with its id (ids grow with every entry appended: the order of the trail).</summary>
public sealed record AuditRecord(long Id, AuditEntry Entry);

/// <summary>
/// A search of the audit trail (the console's audit page). Every filter given must match exactly: <see cref="Account"/>,
/// <see cref="Action"/>, <see cref="Outcome"/>, <see cref="Client"/> (an address, or <c>cli</c>); <see cref="From"/> (inclusive)
/// and <see cref="To"/> (exclusive) bound <see cref="AuditEntry.At"/> in Unix seconds. <see cref="BeforeId"/> pages: only entries
/// with a smaller id. At most <see cref="Limit"/> entries (at least 1).
/// </summary>
public sealed record AuditQuery(
    string? Account = null,
    string? Action = null,
    string? Outcome = null,
    string? Client = null,
    long? From = null,
    long? To = null,
    long? BeforeId = null,
    int Limit = 50)
{
    /// <summary>
    /// Whether the pages are in time order: with a time range (<see cref="From"/> or <see cref="To"/>) newest first means the
    /// latest <see cref="AuditEntry.At"/> first (then the highest id), so that a store reads the range from its time index
    /// however far back it lies; without one, the highest id first (the order entries were appended in). The two differ only
    /// for entries appended out of time order (instances whose clocks differ).
    /// </summary>
    public bool InTimeOrder => From is not null || To is not null;

    /// <summary>
    /// The rule every store applies in SQL: the entries of <paramref name="trail"/> that match every filter, in page order
    /// (<see cref="InTimeOrder"/>), after the entry <see cref="BeforeId"/> in that order when given (none when that entry is
    /// gone), at most <see cref="Limit"/>.
    /// </summary>
    public IEnumerable<AuditRecord> Search(IEnumerable<AuditRecord> trail)
    {
        ArgumentNullException.ThrowIfNull(trail);
        var cursorAt = BeforeId is { } cursor ? trail.FirstOrDefault(record => record.Id == cursor)?.Entry.At : null;
        var matching = trail.Where(record =>
            (Account is null || string.Equals(record.Entry.Account, Account, StringComparison.Ordinal))
            && (Action is null || string.Equals(record.Entry.Action, Action, StringComparison.Ordinal))
            && (Outcome is null || string.Equals(record.Entry.Outcome, Outcome, StringComparison.Ordinal))
            && (Client is null || string.Equals(record.Entry.Client, Client, StringComparison.Ordinal))
            && (From is null || record.Entry.At >= From)
            && (To is null || record.Entry.At < To)
            && (BeforeId is not { } before
                || (InTimeOrder
                    ? cursorAt is { } at && (record.Entry.At < at || (record.Entry.At == at && record.Id < before))
                    : record.Id < before)));
        var ordered = InTimeOrder
            ? matching.OrderByDescending(r => r.Entry.At).ThenByDescending(r => r.Id)
            : matching.OrderByDescending(r => r.Id);
        return ordered.Take(Limit);
    }
}

/// <summary>The actions and outcomes the trail records.</summary>
public static class AuditActions
{
    public const string Get = "get";
    public const string Delete = "delete";
    public const string NewPassword = "newpass";
    public const string AccountAdd = "account.add";
    public const string AccountDisable = "account.disable";
    public const string AccountEnable = "account.enable";
    public const string AccountRemove = "account.remove";
    public const string AccountPassword = "account.passwd";
    public const string TokenRevoke = "token.revoke";
    public const string AccountIntrospect = "account.introspect";
    public const string AccountIntrospectOff = "account.introspect-off";
    public const string Introspect = "introspect";
    public const string ThrottleClear = "throttle.clear";
    /// <summary>Changes to console operators; the entry's account column names the operator changed (not an API account).</summary>
    public const string OperatorAdd = "operator.add";
    public const string OperatorRemove = "operator.remove";
    public const string OperatorPassword = "operator.passwd";

    public const string Issued = "issued";
    public const string Deleted = "deleted";
    public const string PasswordChanged = "password changed";
    public const string AuthenticationFailure = "authentication failure";
    public const string TooManyTokens = "too many tokens";
    public const string RateLimited = "rate limited";

    /// <summary>A login (or newpass) from a caller outside the account's allowed networks, refused before any check.</summary>
    public const string OutsideAllowedNetworks = "outside allowed networks";

    /// <summary>A get that asked for a token bound to an address outside the account's allowed networks.</summary>
    public const string AddressNotAllowed = "address outside allowed networks";
    public const string AccountPolicy = "account.policy";

    /// <summary><c>get</c> handed back a token the account already held for those addresses.</summary>
    public const string Returned = "returned";

    public const string InvalidToken = "invalid token";
    public const string ExpiredToken = "expired token";

    /// <summary>An account that is not a resource server authenticated and asked to introspect a token.</summary>
    public const string NotResourceServer = "refused (not a resource server)";
    public const string Done = "done";

    /// <summary>A limit of the guessing defences starts refusing: <c>blocked (address)</c>, <c>blocked (username)</c>, ...</summary>
    public static string ThrottleStarted(AttemptScope scope) => scope switch
    {
        AttemptScope.Pair => "blocked (username+address)",
        AttemptScope.Client => "blocked (address)",
        _ => "blocked (username)",
    };

    /// <summary>The client of an operator's command.</summary>
    public const string OperatorClient = "cli";
}
