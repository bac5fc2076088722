using System.Threading.Channels;
using Npgsql;

namespace TokenGate.Storage.Postgres;

/// <summary>
/// Group commit for issuing, as <c>SqliteWriter</c> does for the SQLite store. Issues queue up; one loop takes as many as are
/// waiting (up to <see cref="MaxBatch"/>) and decides them all in one transaction, one commit (one WAL flush, with
/// <c>synchronous_commit</c> on) for the batch, in <b>one round trip</b>: <c>BEGIN</c>; the batch's accounts locked
/// (<c>FOR UPDATE</c>, in id order, so that batches of several instances never deadlock); one statement, whose snapshot follows
/// the locks, that decides every request, inserts the new tokens, updates the accounts' bounds and returns each answer
/// (<see cref="DecideSql"/>); <c>COMMIT</c>. So an account's lock is held for the server's work and the flush only, never across
/// a round trip to this process, and the next batch's locks, already waiting at the server, follow at once.
/// <para>
/// The requests are decided as if they had run one after the other in queue order: a request for an address set that has a
/// current token (stored, or added by an earlier request of the batch) gets it; the first request without one adds its token;
/// the per-account limit counts the batch's own additions. A request's task completes only after the commit. Refusals (stamp
/// changed, too many tokens) are answers, not failures, and touch no other request; a fault of the database fails the batch's
/// requests with <see cref="StorageUnavailableException"/>; any other fault (a bug, a constraint) sends the batch's requests
/// through again one by one, so that only the guilty one fails. The work is never cancelled by a caller: a request cancelled
/// while queued is dropped, one already in a batch is decided.
/// </para>
/// <para>
/// The per-account limit without counting on every issue: <c>accounts.active_tokens_bound</c> is an upper bound of the
/// account's unexpired tokens, read and written under the account's row lock by every instance: the exact count when last
/// taken plus every token added since. Expiry and deletion only lower the true count, so while the bound plus the batch's
/// requests stays within the limit the account is within it; otherwise the exact count (up to the limit) is taken again.
/// </para>
/// </summary>
internal sealed class PostgresIssueWriter : IAsyncDisposable
{
    /// <summary>The most requests in one transaction: enough for every connection of a busy instance, short enough to answer soon.</summary>
    internal const int MaxBatch = 256;

    private const int MaxAttempts = 3;

    private const string LockAccountsSql = "SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE";

    // Status codes of DecideSql's answers.
    private const short Added = 0;
    private const short Existing = 1;
    private const short CredentialsChanged = 2;
    private const short TooManyTokens = 3;

    /// <summary>
    /// Decides a batch (one row per request, <c>i</c> its index) after its accounts are locked, and returns each request's
    /// answer: a status, and for <see cref="Existing"/> the token handed back.
    /// <list type="bullet">
    /// <item><c>acc</c>: each account's stamp and state, and its unexpired-token count when the bound cannot vouch for the
    /// batch (the bound is unknown, or the bound plus the batch's requests passes the smallest limit).</item>
    /// <item><c>s</c>: whether the request's stamp still holds (<c>ok</c>), and its address set's current stored token: one that
    /// expires no later than the request's <c>latest</c> (<see cref="TokenIssueRequest.LatestReusableExpiry"/>), so that a token
    /// issued before its account's lifetime was shortened is not handed back. A token added earlier in the same batch is handed
    /// back whatever its expiry: the two requests are concurrent, and were decided with the same lifetime but for a change
    /// made between them within one batch.</item>
    /// <item><c>w</c>, <c>cand</c>: a request adds a token when it must always add (<c>always_add</c>), or when it is the
    /// first request of its address set, that set has no stored token and no earlier request of the batch always added one.
    /// <c>n</c> numbers the additions of an account in queue order: the n-th fits while the account's count plus n stays
    /// within the limit (past it, every later one would be refused too, as in order).</item>
    /// <item><c>ins</c>, <c>upd</c>: the new tokens, and the bounds that moved.</item>
    /// <item>The answer of a request that adds nothing: the latest of its stored token and the tokens added for its set by
    /// earlier requests; none means the addition it would have followed was refused by the limit.</item>
    /// <item><c>aud</c>: the audit entries of the requests that carry one (<see cref="TokenIssueRequest.Audit"/>), for a token
    /// added (<c>issued</c>, with its id) or refused by the limit, in queue order: they commit with the tokens.</item>
    /// </list>
    /// </summary>
    private const string DecideSql =
        $"""
        WITH r AS (
            SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::text[], $5::bytea[], $6::bytea[], $7::bigint[],
                                 $8::bigint[], $9::boolean[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[])
                AS r(i, account_id, stamp, addresses, digest, sealed, now, expires_at, always_add, max_active, latest,
                     audit_account, audit_client, audit_action, token_id)
        ),
        acc AS (
            SELECT a.id, a.credential_stamp, a.enabled, a.active_tokens_bound AS bound, d.most_limit,
                   CASE WHEN a.active_tokens_bound + d.wanted <= d.least_limit THEN NULL
                        ELSE (SELECT count(*) FROM (SELECT 1 FROM tokens t WHERE t.account_id = a.id AND t.expires_at > d.now LIMIT d.most_limit) c)
                   END AS counted
            FROM (SELECT account_id, count(*) AS wanted, min(max_active) AS least_limit, max(max_active) AS most_limit, min(now) AS now
                  FROM r GROUP BY account_id) d
            JOIN accounts a ON a.id = d.account_id
        ),
        s AS (
            SELECT r.*, coalesce(acc.enabled AND acc.credential_stamp = r.stamp, false) AS ok, coalesce(acc.counted, acc.bound) AS active,
                   cur.digest AS cur_digest, cur.sealed AS cur_sealed, cur.expires_at AS cur_expires_at
            FROM r
            LEFT JOIN acc ON acc.id = r.account_id
            LEFT JOIN LATERAL (
                SELECT t.digest, t.sealed, t.expires_at FROM tokens t
                WHERE NOT r.always_add AND t.account_id = r.account_id AND t.addresses = r.addresses AND t.expires_at > r.now
                      AND t.expires_at <= r.latest
                ORDER BY t.expires_at DESC LIMIT 1) cur ON true
        ),
        w AS (
            SELECT s.*,
                   min(s.i) FILTER (WHERE s.ok AND NOT s.always_add) OVER address_set AS leader,
                   coalesce(bool_or(s.ok AND s.always_add) OVER (address_set ORDER BY s.i ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS after_always
            FROM s
            WINDOW address_set AS (PARTITION BY s.account_id, s.addresses)
        ),
        cand AS (
            SELECT w.*, w.ok AND (w.always_add OR (w.cur_digest IS NULL AND w.i = w.leader AND NOT w.after_always)) AS candidate
            FROM w
        ),
        decided AS (
            SELECT cand.*, cand.candidate AND cand.active + row_number() OVER (PARTITION BY cand.account_id, cand.candidate ORDER BY cand.i) <= cand.max_active AS added
            FROM cand
        ),
        ins AS (
            INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at)
            SELECT digest, account_id, addresses, sealed, now, expires_at FROM decided WHERE added
        ),
        upd AS (
            UPDATE accounts a SET active_tokens_bound = b.new_bound
            FROM (SELECT acc.id, acc.bound,
                         CASE WHEN acc.counted >= acc.most_limit THEN NULL
                              ELSE coalesce(acc.counted, acc.bound) + (SELECT count(*) FROM decided d WHERE d.account_id = acc.id AND d.added)
                         END AS new_bound
                  FROM acc) b
            WHERE a.id = b.id AND b.new_bound IS DISTINCT FROM b.bound
        ),
        answer AS (
            SELECT d.i, d.now, d.audit_account, d.audit_client, d.audit_action, d.token_id,
                   CASE WHEN NOT d.ok THEN 2
                        WHEN d.added THEN 0
                        WHEN d.candidate THEN 3
                        WHEN d.cur_digest IS NULL AND e.digest IS NULL THEN 3
                        ELSE 1
                   END::smallint AS status,
                   CASE WHEN e.digest IS NOT NULL AND (d.cur_digest IS NULL OR e.expires_at > d.cur_expires_at) THEN e.digest ELSE d.cur_digest END AS digest,
                   CASE WHEN e.digest IS NOT NULL AND (d.cur_digest IS NULL OR e.expires_at > d.cur_expires_at) THEN e.sealed ELSE d.cur_sealed END AS sealed,
                   CASE WHEN e.digest IS NOT NULL AND (d.cur_digest IS NULL OR e.expires_at > d.cur_expires_at) THEN e.expires_at ELSE d.cur_expires_at END AS expires_at
            FROM decided d
            LEFT JOIN LATERAL (
                SELECT x.digest, x.sealed, x.expires_at FROM decided x
                WHERE x.added AND x.account_id = d.account_id AND x.addresses = d.addresses AND x.i < d.i
                ORDER BY x.expires_at DESC LIMIT 1) e ON d.ok AND NOT d.candidate
        ),
        aud AS (
            INSERT INTO audit (at, account, client, action, outcome, token_id)
            SELECT a.now, a.audit_account, a.audit_client, a.audit_action,
                   CASE WHEN a.status = 0 THEN '{AuditActions.Issued}' ELSE '{AuditActions.TooManyTokens}' END, CASE WHEN a.status = 0 THEN a.token_id END
            FROM answer a WHERE a.audit_action IS NOT NULL AND a.status IN (0, 3)
            ORDER BY a.i
        )
        SELECT i, status, digest, sealed, expires_at FROM answer
        """;

    private readonly Channel<PendingIssue> _queue = Channel.CreateUnbounded<PendingIssue>(new UnboundedChannelOptions { SingleReader = true });
    private readonly NpgsqlDataSource _dataSource;
    private readonly Func<Exception, StorageUnavailableException> _unavailable;
    private readonly Task _loop;
    private long _commits;
    private long _batches;

    public PostgresIssueWriter(NpgsqlDataSource dataSource, Func<Exception, StorageUnavailableException> unavailable)
    {
        _dataSource = dataSource;
        _unavailable = unavailable;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Transactions committed (each one flush of the WAL), for tests and figures.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Batches taken from the queue (for tests and figures).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    public Task<TokenIssueResult> IssueAsync(TokenIssueRequest request, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TokenIssueResult>(cancellationToken);
        }

        var issue = new PendingIssue(request, cancellationToken);
        return _queue.Writer.TryWrite(issue)
            ? issue.Task
            : Task.FromException<TokenIssueResult>(new ObjectDisposedException(nameof(PostgresTokenGateStore)));
    }

    /// <summary>Stops taking requests and answers those already queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }

    private async Task RunAsync()
    {
        var batch = new List<PendingIssue>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var issue))
            {
                if (issue.CancellationToken.IsCancellationRequested)
                {
                    issue.Cancel();
                }
                else
                {
                    batch.Add(issue);
                }
            }

            if (batch.Count > 0)
            {
                Interlocked.Increment(ref _batches);
                await CommitAsync(batch);
                batch.Clear();
            }
        }
    }

    private async Task CommitAsync(IReadOnlyList<PendingIssue> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var results = await ApplyAsync(batch);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Complete(results[i]);
                }

                return;
            }
            catch (Exception exception) when (PostgresFaults.IsRetryable(exception) && attempt < MaxAttempts)
            {
            }
            catch (Exception exception) when (PostgresFaults.IsUnavailable(exception))
            {
                var failure = _unavailable(exception);
                foreach (var issue in batch)
                {
                    issue.Fail(failure);
                }

                return;
            }
            catch (Exception) when (batch.Count > 1)
            {
                // Not the database's state but one request's doing, most likely: each on its own, so that only that one fails.
                foreach (var issue in batch)
                {
                    await CommitAsync([issue]);
                }

                return;
            }
            catch (Exception exception)
            {
                batch[0].Fail(exception);
                return;
            }
        }
    }

    /// <summary>One transaction for the batch, in one round trip; the results, in the batch's order, once it has committed.</summary>
    private async Task<TokenIssueResult[]> ApplyAsync(IReadOnlyList<PendingIssue> batch)
    {
        var requests = batch.Select(issue => issue.Request).ToArray();
        var accounts = requests.Select(r => r.AccountId).Distinct().Order().ToArray();
        await using var connection = await _dataSource.OpenConnectionAsync(CancellationToken.None);

        // Raw BEGIN and COMMIT rather than an NpgsqlTransaction, which sends statements of its own: all four go in one batch.
        // Should a statement fail, the ones after it (COMMIT among them) are skipped, and the transaction is rolled back below.
        try
        {
            await using var round = PostgresTokenGateStore.Batch(
                connection,
                PostgresTokenGateStore.Statement("BEGIN"),
                PostgresTokenGateStore.Statement(LockAccountsSql, Array(accounts)),
                PostgresTokenGateStore.Statement(
                    DecideSql,
                    Array(Enumerable.Range(0, requests.Length)),
                    Array(requests.Select(r => r.AccountId)),
                    Array(requests.Select(r => r.CredentialStamp)),
                    Array(requests.Select(r => r.AddressKey)),
                    Array(requests.Select(r => r.Digest)),
                    Array(requests.Select(r => r.SealedToken)),
                    Array(requests.Select(r => r.Now)),
                    Array(requests.Select(r => r.ExpiresAt)),
                    Array(requests.Select(r => r.AlwaysAdd)),
                    Array(requests.Select(r => (long)r.MaxActiveTokens)),
                    Array(requests.Select(r => r.LatestReusableExpiry)),
                    Array(requests.Select(r => r.Audit?.Account)),
                    Array(requests.Select(r => r.Audit?.Client)),
                    Array(requests.Select(r => r.Audit?.Action)),
                    Array(requests.Select(r => r.Audit is null ? null : TokenGate.Tokens.TokenValue.IdOf(r.Digest)))),
                PostgresTokenGateStore.Statement("COMMIT"));
            var results = new TokenIssueResult?[requests.Length];
            await using (var reader = await round.ExecuteReaderAsync(CancellationToken.None))
            {
                // The locks' rows first: nothing to read. Then one answer per request.
                while (await reader.ReadAsync(CancellationToken.None))
                {
                }

                await reader.NextResultAsync(CancellationToken.None);
                while (await reader.ReadAsync(CancellationToken.None))
                {
                    var i = reader.GetInt32(0);
                    var request = requests[i];
                    results[i] = reader.GetInt16(1) switch
                    {
                        Added => new TokenIssueResult(TokenIssueStatus.Added, request.Digest, request.SealedToken, request.ExpiresAt),
                        Existing => new TokenIssueResult(
                            TokenIssueStatus.Existing, reader.GetFieldValue<byte[]>(2), reader.GetFieldValue<byte[]>(3), reader.GetInt64(4)),
                        CredentialsChanged => TokenIssueResult.CredentialsChanged,
                        _ => TokenIssueResult.TooManyTokens,
                    };
                }
            }

            // Disposing the reader consumed the end of the batch: COMMIT has run.
            Interlocked.Increment(ref _commits);
            return [.. results.Select((result, i) => result ?? throw new InvalidOperationException($"The batch gave request {i} no answer."))];
        }
        catch (Exception) when (connection.FullState == System.Data.ConnectionState.Open)
        {
            // End the transaction before the connection goes back to the pool (a failed ROLLBACK leaves it to Npgsql's reset of
            // a returned connection).
            try
            {
                await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
                await rollback.ExecuteNonQueryAsync(CancellationToken.None);
            }
            catch (Exception rollback) when (rollback is NpgsqlException or InvalidOperationException)
            {
            }

            throw;
        }
    }

    private static NpgsqlParameter<T[]> Array<T>(IEnumerable<T> values) => new() { TypedValue = values.ToArray() };

    private sealed class PendingIssue(TokenIssueRequest request, CancellationToken cancellationToken)
    {
        // Continuations run off the writer's loop: it must not run the rest of each request.
        private readonly TaskCompletionSource<TokenIssueResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TokenIssueRequest Request => request;

        public CancellationToken CancellationToken => cancellationToken;

        public Task<TokenIssueResult> Task => _completion.Task;

        public void Complete(TokenIssueResult result) => _completion.TrySetResult(result);

        public void Fail(Exception exception) => _completion.TrySetException(exception);

        public void Cancel() => _completion.TrySetCanceled(cancellationToken);
    }
}
