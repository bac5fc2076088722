using Npgsql;

namespace TokenGate.Storage.Postgres;

/// <summary>
/// Login-attempt counters and familiar addresses, shared by every instance on the database. Statements that touch several
/// counters lock their rows in one order (scope, username, client, bytewise), so that two instances reserving overlapping
/// counters queue behind each other instead of deadlocking; a deadlock that still happens (a counter deleted and re-created
/// between two steps) is retried by <see cref="RunAsync"/>.
/// </summary>
public sealed partial class PostgresTokenGateStore
{
    /// <summary>The counters of a call, as the arrays $1 (scope), $2 (username) and $3 (client).</summary>
    private const string CounterKeys = """unnest($1::integer[], $2::text[], $3::text[]) AS k (scope, username, client)""";

    /// <summary>A condition on login_attempts: the row is one of the call's counters.</summary>
    private const string IsCounterOfCall = $"(scope, username, client) IN (SELECT k.scope, k.username, k.client FROM {CounterKeys})";

    private const string FamiliarSinceSql =
        "SELECT EXISTS (SELECT 1 FROM login_familiar WHERE username = $1 AND client = $2 AND last_success >= $3)";

    public ValueTask<AttemptReservation> ReserveAttemptAsync(IReadOnlyList<AttemptCounter> counters, long now, long windowSeconds, CancellationToken cancellationToken)
    {
        LoginAttempts.Validate(counters);
        var index = new Dictionary<(int, string, string), int>();
        for (var i = 0; i < counters.Count; i++)
        {
            index.Add(((int)counters[i].Scope, counters[i].Username, counters[i].Client), i);
        }

        return RevokeAsync(
            async (connection, ct) =>
            {
                // One transaction: every counter gets a row (a placeholder at 0 when new, so that there is a row to lock), the
                // rows are locked in order (reservations of the same counters on every instance wait here), then the decision
                // is made on counts no one else can change until this commits. A refusal rolls back: it writes nothing.
                await using var transaction = await connection.BeginTransactionAsync(ct);
                var stored = new (int Count, long LastAt)?[counters.Count];
                await using (var locking = Batch(
                    connection,
                    Statement(
                        $"""
                        INSERT INTO login_attempts (scope, username, client, count, last_at)
                        SELECT k.scope, k.username, k.client, 0, 0 FROM {CounterKeys}
                        ORDER BY k.scope, k.username COLLATE "C", k.client COLLATE "C"
                        ON CONFLICT (scope, username, client) DO NOTHING
                        """,
                        CounterArrays(counters)),
                    Statement(
                        $"""
                        SELECT a.scope, a.username, a.client, a.count, a.last_at
                        FROM login_attempts a JOIN {CounterKeys} ON a.scope = k.scope AND a.username = k.username AND a.client = k.client
                        ORDER BY a.scope, a.username, a.client
                        FOR UPDATE OF a
                        """,
                        CounterArrays(counters))))
                {
                    await using var reader = await locking.ExecuteReaderAsync(ct);
                    while (reader.FieldCount != 5 && await reader.NextResultAsync(ct))
                    {
                    }

                    while (await reader.ReadAsync(ct))
                    {
                        // A row deleted between the two statements (a release, a purge) is missing: it counts as 0.
                        stored[index[(reader.GetInt32(0), reader.GetString(1), reader.GetString(2))]] = (reader.GetInt32(3), reader.GetInt64(4));
                    }
                }

                var reservation = LoginAttempts.Decide(counters, stored, now, windowSeconds, out var countsAfter);
                if (!reservation.Allowed)
                {
                    await transaction.RollbackAsync(ct);
                    return (reservation, (long?)null);
                }

                await using var write = Batch(
                    connection,
                    Statement(
                        """
                        INSERT INTO login_attempts (scope, username, client, count, last_at)
                        SELECT k.scope, k.username, k.client, k.count, $5
                        FROM unnest($1::integer[], $2::text[], $3::text[], $4::integer[]) AS k (scope, username, client, count)
                        ORDER BY k.scope, k.username COLLATE "C", k.client COLLATE "C"
                        ON CONFLICT (scope, username, client) DO UPDATE SET count = excluded.count, last_at = excluded.last_at
                        """,
                        [.. CounterArrays(counters), Value(countsAfter), Value(now)]));

                // A limit that starts refusing drops every instance's caches, so that a cached credential cannot go on answering.
                if (reservation.BlocksStarted.Count > 0)
                {
                    write.BatchCommands.Add(Statement(BumpIf("true")));
                }

                var (_, epoch) = await ReadCountAndEpochAsync(write, ct);
                await transaction.CommitAsync(ct);
                return (reservation, epoch);
            },
            cancellationToken);
    }

    public async ValueTask ReleaseAttemptAsync(
        IReadOnlyList<AttemptCounter> counters, bool forgetPairs, string? familiarUsername, string? familiarClient, long now, CancellationToken cancellationToken)
    {
        LoginAttempts.Validate(counters);
        await RunAsync(
            async (connection, ct) =>
            {
                // One batch, one transaction. Statements that find nothing to change write nothing, and the familiar row is
                // written only when it is missing or older than a day, so a success with nothing to undo costs no write.
                await using var batch = Batch(
                    connection,
                    Statement(
                        $"""
                        SELECT 1 FROM login_attempts
                        WHERE {IsCounterOfCall}
                        ORDER BY scope, username, client
                        FOR UPDATE
                        """,
                        CounterArrays(counters)),
                    Statement(
                        $"""
                        DELETE FROM login_attempts
                        WHERE scope = 0 AND $4 AND {IsCounterOfCall}
                        """,
                        [.. CounterArrays(counters), Value(forgetPairs)]),
                    Statement(
                        $"""
                        UPDATE login_attempts SET count = count - 1
                        WHERE (scope <> 0 OR NOT $4) AND count > 0 AND {IsCounterOfCall}
                        """,
                        [.. CounterArrays(counters), Value(forgetPairs)]));
                if (familiarUsername is not null && familiarClient is not null)
                {
                    batch.BatchCommands.Add(Statement(
                        """
                        INSERT INTO login_familiar (username, client, last_success)
                        SELECT $1, $2, $3
                        WHERE NOT EXISTS (SELECT 1 FROM login_familiar WHERE username = $1 AND client = $2 AND last_success >= $4)
                        ON CONFLICT (username, client) DO UPDATE SET last_success = excluded.last_success
                        """,
                        Text(familiarUsername),
                        Text(familiarClient),
                        Value(now),
                        Value(now - LoginAttempts.FamiliarRefreshSeconds)));
                }

                return await batch.ExecuteNonQueryAsync(ct);
            },
            cancellationToken);
    }

    public ValueTask<bool> IsFamiliarAsync(string username, string client, long since, CancellationToken cancellationToken) =>
        RunAsync(
            async (connection, ct) =>
            {
                await using var command = Command(connection, FamiliarSinceSql, Text(username), Text(client), Value(since));
                return await command.ExecuteScalarAsync(ct) is true;
            },
            cancellationToken);

    public ValueTask<IReadOnlyList<AttemptCounterState>> ListAttemptCountersAsync(long now, long windowSeconds, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return QueryAllAsync(
            """
            SELECT scope, username, client, count, last_at FROM login_attempts
            WHERE last_at > $1 AND count > 0
            ORDER BY count DESC, last_at DESC, scope, username, client LIMIT $2
            """,
            reader => new AttemptCounterState((AttemptScope)reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt64(4)),
            cancellationToken,
            Value(now - windowSeconds),
            Value(limit));
    }

    public ValueTask<int> ClearAttemptCountersAsync(string? username, string? client, CancellationToken cancellationToken) =>
        username is null && client is null
            ? ValueTask.FromResult(0)
            : NonQueryAsync(
                "DELETE FROM login_attempts WHERE (scope IN (0, 2) AND username = $1) OR (scope IN (0, 1) AND client = $2)",
                cancellationToken,
                Text(username),
                Text(client));

    public ValueTask<int> PurgeLoginStateAsync(long countersBefore, long familiarBefore, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return RunAsync(
            async (connection, ct) =>
            {
                // SKIP LOCKED: a counter a reservation holds is being written now, not forgotten.
                await using var batch = Batch(
                    connection,
                    Statement(
                        """
                        DELETE FROM login_attempts WHERE (scope, username, client) IN (
                            SELECT scope, username, client FROM login_attempts WHERE last_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
                        """,
                        Value(countersBefore),
                        Value(batchSize)),
                    Statement(
                        """
                        DELETE FROM login_familiar WHERE (username, client) IN (
                            SELECT username, client FROM login_familiar WHERE last_success < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
                        """,
                        Value(familiarBefore),
                        Value(batchSize)));
                return await batch.ExecuteNonQueryAsync(ct);
            },
            cancellationToken);
    }

    private static NpgsqlParameter[] CounterArrays(IReadOnlyList<AttemptCounter> counters) =>
    [
        Value(counters.Select(c => (int)c.Scope).ToArray()),
        TextArray(counters.Select(c => c.Username)),
        TextArray(counters.Select(c => c.Client)),
    ];
}
