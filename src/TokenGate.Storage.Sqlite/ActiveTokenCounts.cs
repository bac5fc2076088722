namespace TokenGate.Storage.Sqlite;

/// <summary>
/// The per-account limit on unexpired tokens, checked without counting on every issue. Counting an account's unexpired tokens
/// walks its entries in tokens_by_address_set (expired ones within the retention too), stopping at the limit (1,000 by
/// default): on an account that issues many tokens that is most of an issue's cost. So the writer keeps, per account, an upper bound: the exact count when last taken plus every token it added since.
/// Expiry and deletion only lower the true count, so while the bound is under the limit the account is under it too; only when
/// the bound reaches the limit is the exact count taken again. Used only on the writer thread (no locking); every issuing write
/// of this process goes through that thread (another process on the same file issuing tokens — an unsupported setup — could
/// make the bound low; the limit then holds per process).
/// </summary>
internal sealed class ActiveTokenCounts
{
    /// <summary>The exact count, up to the limit: served by tokens_by_address_set, whose prefix is the account.</summary>
    internal const string CountSql = "SELECT count(*) FROM (SELECT 1 FROM tokens WHERE account_id = $id AND expires_at > $now LIMIT $max)";

    private const int MaxTrackedAccounts = 100_000;
    private readonly Dictionary<long, long> _upperBounds = [];

    public bool BelowLimit(PreparedCommands commands, TokenIssueRequest request)
    {
        if (_upperBounds.TryGetValue(request.AccountId, out var bound) && bound < request.MaxActiveTokens)
        {
            return true;
        }

        // Counts no further than the limit: the cost is bounded by the limit, not by how many tokens the account holds.
        var active = (long)commands.Get(CountSql)
            .With("$id", request.AccountId).With("$now", request.Now).With("$max", request.MaxActiveTokens).ExecuteScalar()!;
        if (_upperBounds.Count >= MaxTrackedAccounts)
        {
            _upperBounds.Clear();
        }

        _upperBounds[request.AccountId] = active;
        return active < request.MaxActiveTokens;
    }

    /// <summary>A token was added for the account (in a transaction that may still roll back: the bound then over-counts, which is safe).</summary>
    public void Added(long accountId)
    {
        if (_upperBounds.TryGetValue(accountId, out var bound))
        {
            _upperBounds[accountId] = bound + 1;
        }
    }
}
