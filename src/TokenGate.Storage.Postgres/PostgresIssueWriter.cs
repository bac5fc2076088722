using System.Threading.Channels;
using Npgsql;

namespace TokenGate.Storage.Postgres;

/// <summary>
/// Group commit for issuing, as <c>SqliteWriter</c> does for the SQLite store. Issues queue up; one loop takes as many as are
/// waiting (up to <see cref="MaxBatch"/>) and decides them all in one transaction, one commit (one WAL flush, with
/// <c>synchronous_commit</c> on) for the batch:
/// <list type="number">
/// <item>one round trip locks the batch's accounts (<c>FOR UPDATE</c>, in id order, so that batches of several instances never
/// deadlock), then, in statements whose snapshots follow the locks, reads each account's stamp and state, its unexpired-token
/// count when the bound cannot vouch for it (see below), and each request's current token for its address set;</item>
/// <item>the requests are decided here, in queue order, as if they had run one after the other: a later request for an
/// address set an earlier one was given a token for gets that token, the per-account limit counts the batch's own additions;</item>
/// <item>one round trip inserts the new tokens (one multi-row statement), updates the bounds and commits.</item>
/// </list>
/// A request's task completes only after the commit. Refusals (stamp changed, too many tokens) are answers, not failures, and
/// touch no other request; a fault of the database fails the batch's requests with <see cref="StorageUnavailableException"/>;
/// any other fault (a bug, a constraint) sends the batch's requests through again one by one, so that only the guilty one fails.
/// The work is never cancelled by a caller: a request cancelled while queued is dropped, one already in a batch is decided.
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

    private const string ReadAccountsSql =
        """
        SELECT a.id, a.credential_stamp, a.enabled, a.active_tokens_bound,
               CASE WHEN a.active_tokens_bound + d.wanted <= d.least_limit THEN NULL
                    ELSE (SELECT count(*) FROM (SELECT 1 FROM tokens t WHERE t.account_id = a.id AND t.expires_at > d.now LIMIT d.most_limit) c)
               END
        FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS d(id, wanted, least_limit, most_limit, now)
        JOIN accounts a ON a.id = d.id
        """;

    private const string ReadCurrentTokensSql =
        """
        SELECT r.i, t.digest, t.sealed, t.expires_at
        FROM unnest($1::integer[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS r(i, account_id, addresses, now, latest)
        CROSS JOIN LATERAL (
            SELECT digest, sealed, expires_at FROM tokens
            WHERE account_id = r.account_id AND addresses = r.addresses AND expires_at > r.now AND expires_at <= r.latest
            ORDER BY expires_at DESC LIMIT 1) t
        """;

    private const string InsertTokensSql =
        """
        INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at)
        SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::text[], $4::bytea[], $5::bigint[], $6::bigint[])
        """;

    private const string UpdateBoundsSql =
        """
        UPDATE accounts a SET active_tokens_bound = b.bound
        FROM unnest($1::bigint[], $2::bigint[]) AS b(id, bound)
        WHERE a.id = b.id
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

    /// <summary>One transaction for the batch; the results, in the batch's order, once it has committed.</summary>
    private async Task<TokenIssueResult[]> ApplyAsync(IReadOnlyList<PendingIssue> batch)
    {
        var accounts = Demands(batch);
        await using var connection = await _dataSource.OpenConnectionAsync(CancellationToken.None);

        // BEGIN travels with the reads and COMMIT with the writes: two round trips a batch, the account locks held from the
        // reads to the commit's flush. (Raw statements rather than an NpgsqlTransaction, which would send a ROLLBACK of its
        // own when disposed after a COMMIT it did not send.)
        try
        {
            var current = await ReadAsync(connection, batch, accounts);
            var results = Decide(batch, accounts, current, out var added);
            if (added.Count == 0 && !accounts.Values.Any(a => a.BoundChanged))
            {
                // Nothing to write: the locks go with the rollback, and no commit waits for a flush.
                await EndAsync(connection, "ROLLBACK");
                return results;
            }

            await WriteAndCommitAsync(connection, added, accounts);
            Interlocked.Increment(ref _commits);
            return results;
        }
        catch (Exception) when (connection.FullState == System.Data.ConnectionState.Open)
        {
            // A statement failed and the ones after it were skipped: end the transaction before the connection goes back to the
            // pool (a failed ROLLBACK leaves it to Npgsql's reset of a returned connection).
            try
            {
                await EndAsync(connection, "ROLLBACK");
            }
            catch (Exception rollback) when (rollback is NpgsqlException or InvalidOperationException)
            {
            }

            throw;
        }
    }

    private static async Task EndAsync(NpgsqlConnection connection, string statement)
    {
        await using var command = new NpgsqlCommand(statement, connection);
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }

    /// <summary>Per account in the batch (in id order, the order of the locks): how many requests and under which limits.</summary>
    private static SortedDictionary<long, AccountState> Demands(IReadOnlyList<PendingIssue> batch)
    {
        var accounts = new SortedDictionary<long, AccountState>();
        foreach (var issue in batch)
        {
            var request = issue.Request;
            if (!accounts.TryGetValue(request.AccountId, out var state))
            {
                accounts[request.AccountId] = state = new AccountState(request);
            }

            state.Demand(request);
        }

        return accounts;
    }

    /// <summary>The first round trip: the transaction's start, the locks, the accounts' state, and each request's current token (by its batch index).</summary>
    private static async Task<Dictionary<int, TokenIssueResult>> ReadAsync(
        NpgsqlConnection connection, IReadOnlyList<PendingIssue> batch, SortedDictionary<long, AccountState> accounts)
    {
        var ids = accounts.Keys.ToArray();
        var searched = Enumerable.Range(0, batch.Count).Where(i => !batch[i].Request.AlwaysAdd).ToArray();
        await using var read = PostgresTokenGateStore.Batch(
            connection,
            PostgresTokenGateStore.Statement("BEGIN"),
            PostgresTokenGateStore.Statement(LockAccountsSql, Array(ids)),
            PostgresTokenGateStore.Statement(
                ReadAccountsSql,
                Array(ids),
                Array(accounts.Values.Select(a => a.Wanted)),
                Array(accounts.Values.Select(a => a.LeastLimit)),
                Array(accounts.Values.Select(a => a.MostLimit)),
                Array(accounts.Values.Select(a => a.Now))));
        if (searched.Length > 0)
        {
            read.BatchCommands.Add(PostgresTokenGateStore.Statement(
                ReadCurrentTokensSql,
                Array(searched),
                Array(searched.Select(i => batch[i].Request.AccountId)),
                Array(searched.Select(i => batch[i].Request.AddressKey)),
                Array(searched.Select(i => batch[i].Request.Now)),
                Array(searched.Select(i => batch[i].Request.LatestReusableExpiry))));
        }

        var current = new Dictionary<int, TokenIssueResult>();
        await using var reader = await read.ExecuteReaderAsync(CancellationToken.None);
        while (await reader.ReadAsync(CancellationToken.None))
        {
            // The locks' rows: nothing to read.
        }

        await reader.NextResultAsync(CancellationToken.None);
        while (await reader.ReadAsync(CancellationToken.None))
        {
            accounts[reader.GetInt64(0)].Found(
                reader.GetInt64(1),
                reader.GetBoolean(2),
                reader.IsDBNull(3) ? null : reader.GetInt64(3),
                reader.IsDBNull(4) ? null : reader.GetInt64(4));
        }

        if (searched.Length > 0)
        {
            await reader.NextResultAsync(CancellationToken.None);
            while (await reader.ReadAsync(CancellationToken.None))
            {
                current[reader.GetInt32(0)] = new TokenIssueResult(
                    TokenIssueStatus.Existing, reader.GetFieldValue<byte[]>(1), reader.GetFieldValue<byte[]>(2), reader.GetInt64(3));
            }
        }

        return current;
    }

    /// <summary>Decides the requests in queue order, as if each had run alone after the one before it.</summary>
    private static TokenIssueResult[] Decide(
        IReadOnlyList<PendingIssue> batch,
        SortedDictionary<long, AccountState> accounts,
        Dictionary<int, TokenIssueResult> current,
        out List<TokenIssueRequest> added)
    {
        added = [];
        var addedHere = new Dictionary<(long, string), TokenIssueResult>();
        var results = new TokenIssueResult[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var request = batch[i].Request;
            var account = accounts[request.AccountId];
            if (!account.Exists || !account.Enabled || account.CredentialStamp != request.CredentialStamp)
            {
                results[i] = TokenIssueResult.CredentialsChanged;
                continue;
            }

            if (!request.AlwaysAdd)
            {
                current.TryGetValue(i, out var stored);
                if (addedHere.TryGetValue((request.AccountId, request.AddressKey), out var earlier) && earlier.ExpiresAt > request.LatestReusableExpiry)
                {
                    earlier = null;
                }

                var latest = stored is null || (earlier is not null && earlier.ExpiresAt > stored.ExpiresAt) ? earlier : stored;
                if (latest is not null)
                {
                    results[i] = latest;
                    continue;
                }
            }

            if (account.Active + account.Added >= request.MaxActiveTokens)
            {
                results[i] = TokenIssueResult.TooManyTokens;
                continue;
            }

            account.Added++;
            added.Add(request);
            results[i] = new TokenIssueResult(TokenIssueStatus.Added, request.Digest, request.SealedToken, request.ExpiresAt);
            var key = (request.AccountId, request.AddressKey);
            if (!addedHere.TryGetValue(key, out var before) || before.ExpiresAt < request.ExpiresAt)
            {
                addedHere[key] = results[i] with { Status = TokenIssueStatus.Existing };
            }
        }

        return results;
    }

    /// <summary>
    /// The second round trip: the new tokens, the bounds of the accounts that were counted or added to, and the commit. Should a
    /// statement fail, the ones after it (the commit among them) are skipped, and <see cref="ApplyAsync"/> rolls back.
    /// </summary>
    private static async Task WriteAndCommitAsync(NpgsqlConnection connection, List<TokenIssueRequest> added, SortedDictionary<long, AccountState> accounts)
    {
        var bounds = accounts.Values.Where(a => a.BoundChanged).ToList();
        await using var write = PostgresTokenGateStore.Batch(connection);
        if (added.Count > 0)
        {
            write.BatchCommands.Add(PostgresTokenGateStore.Statement(
                InsertTokensSql,
                Array(added.Select(r => r.Digest)),
                Array(added.Select(r => r.AccountId)),
                Array(added.Select(r => r.AddressKey)),
                Array(added.Select(r => r.SealedToken)),
                Array(added.Select(r => r.Now)),
                Array(added.Select(r => r.ExpiresAt))));
        }

        if (bounds.Count > 0)
        {
            write.BatchCommands.Add(PostgresTokenGateStore.Statement(
                UpdateBoundsSql,
                Array(bounds.Select(a => a.Id)),
                Array(bounds.Select(a => a.NewBound))));
        }

        write.BatchCommands.Add(PostgresTokenGateStore.Statement("COMMIT"));
        await write.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private static NpgsqlParameter<T[]> Array<T>(IEnumerable<T> values) => new() { TypedValue = values.ToArray() };

    /// <summary>One account of a batch: what its requests ask for, then what the database says of it.</summary>
    private sealed class AccountState(TokenIssueRequest first)
    {
        private long? _bound;

        public long Id { get; } = first.AccountId;

        public long Wanted { get; private set; }

        public long LeastLimit { get; private set; } = first.MaxActiveTokens;

        public long MostLimit { get; private set; } = first.MaxActiveTokens;

        /// <summary>The earliest moment of the batch's requests: counting from it counts at least as many tokens as from any.</summary>
        public long Now { get; private set; } = first.Now;

        public bool Exists { get; private set; }

        public long CredentialStamp { get; private set; }

        public bool Enabled { get; private set; }

        /// <summary>The exact count (up to <see cref="MostLimit"/>) when the bound could not vouch for the batch.</summary>
        public long? Counted { get; private set; }

        public long Active { get; private set; }

        public int Added { get; set; }

        /// <summary>The bound to store: unknown (null) when the count stopped at the limit, for the true count may be beyond it.</summary>
        public long? NewBound => Counted >= MostLimit ? null : Active + Added;

        public bool BoundChanged => Exists && NewBound != _bound;

        public void Demand(TokenIssueRequest request)
        {
            Wanted++;
            LeastLimit = Math.Min(LeastLimit, request.MaxActiveTokens);
            MostLimit = Math.Max(MostLimit, request.MaxActiveTokens);
            Now = Math.Min(Now, request.Now);
        }

        public void Found(long credentialStamp, bool enabled, long? bound, long? counted)
        {
            Exists = true;
            CredentialStamp = credentialStamp;
            Enabled = enabled;
            Counted = counted;
            _bound = bound;
            Active = counted ?? bound!.Value;
        }
    }

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
