namespace TokenGate.Storage.Sqlite;

/// <summary>
/// Login-attempt counters and familiar addresses, in the same file and through the same writer as everything else. A reservation
/// is one write operation that reads the counters, decides and writes: the writer runs one operation at a time, in a transaction
/// begun with <c>BEGIN IMMEDIATE</c>, which holds SQLite's write lock across processes, so reservations of every thread and
/// every process on the file take turns and none decides on a count another is about to change.
/// </summary>
public sealed partial class SqliteTokenGateStore
{
    private const string FindCounterSql = "SELECT count, last_at FROM login_attempts WHERE scope = $scope AND username = $username AND client = $client";

    private const string FamiliarSinceSql =
        "SELECT EXISTS (SELECT 1 FROM login_familiar WHERE username = $username AND client = $client AND last_success >= $since)";

    public ValueTask<AttemptReservation> ReserveAttemptAsync(IReadOnlyList<AttemptCounter> counters, long now, long windowSeconds, CancellationToken cancellationToken)
    {
        LoginAttempts.Validate(counters);
        return Write(cancellationToken, commands =>
        {
            var stored = new (int Count, long LastAt)?[counters.Count];
            for (var i = 0; i < counters.Count; i++)
            {
                using var reader = WithKey(commands.Get(FindCounterSql), counters[i]).ExecuteReader();
                stored[i] = reader.Read() ? (reader.GetInt32(0), reader.GetInt64(1)) : null;
            }

            var reservation = LoginAttempts.Decide(counters, stored, now, windowSeconds, out var countsAfter);
            if (!reservation.Allowed)
            {
                return reservation;
            }

            for (var i = 0; i < counters.Count; i++)
            {
                WithKey(commands.Get(
                    """
                    INSERT INTO login_attempts (scope, username, client, count, last_at) VALUES ($scope, $username, $client, $count, $now)
                    ON CONFLICT (scope, username, client) DO UPDATE SET count = excluded.count, last_at = excluded.last_at
                    """), counters[i]).With("$count", countsAfter[i]).With("$now", now).ExecuteNonQuery();
            }

            // A limit that starts refusing drops every process's caches, so that a cached credential cannot go on answering.
            if (reservation.BlocksStarted.Count > 0)
            {
                BumpRevocationEpoch(commands);
            }

            return reservation;
        });
    }

    public async ValueTask ReleaseAttemptAsync(
        IReadOnlyList<AttemptCounter> counters, bool forgetPairs, string? familiarUsername, string? familiarClient, long now, CancellationToken cancellationToken)
    {
        LoginAttempts.Validate(counters);
        var familiar = familiarUsername is not null && familiarClient is not null;

        // Decided on a read connection first, so that a success with nothing to change (no counts, a familiar address seen
        // within the day) queues no write at all. A count that appears after this read belongs to an attempt that releases it.
        if (!await ReleaseChangesAnythingAsync(counters, forgetPairs, familiar ? (familiarUsername!, familiarClient!) : null, now, cancellationToken))
        {
            return;
        }

        await Write(cancellationToken, commands =>
        {
            foreach (var counter in counters)
            {
                WithKey(commands.Get(counter.Scope == AttemptScope.Pair && forgetPairs
                    ? "DELETE FROM login_attempts WHERE scope = $scope AND username = $username AND client = $client"
                    : "UPDATE login_attempts SET count = count - 1 WHERE scope = $scope AND username = $username AND client = $client AND count > 0"), counter)
                    .ExecuteNonQuery();
            }

            if (familiar)
            {
                commands.Get(
                    """
                    INSERT INTO login_familiar (username, client, last_success)
                    SELECT $username, $client, $now
                    WHERE NOT EXISTS (SELECT 1 FROM login_familiar WHERE username = $username AND client = $client AND last_success >= $fresh)
                    ON CONFLICT (username, client) DO UPDATE SET last_success = excluded.last_success
                    """).With("$username", familiarUsername).With("$client", familiarClient).With("$now", now)
                    .With("$fresh", now - LoginAttempts.FamiliarRefreshSeconds).ExecuteNonQuery();
            }

            return 0;
        });
    }

    public ValueTask<bool> IsFamiliarAsync(string username, string client, long since, CancellationToken cancellationToken) =>
        Read(cancellationToken, commands =>
            commands.Get(FamiliarSinceSql).With("$username", username).With("$client", client).With("$since", since).ExecuteScalar() is 1L);

    public ValueTask<IReadOnlyList<AttemptCounterState>> ListAttemptCountersAsync(long now, long windowSeconds, int limit, CancellationToken cancellationToken) =>
        Read<IReadOnlyList<AttemptCounterState>>(cancellationToken, commands =>
        {
            using var reader = commands.Get(
                """
                SELECT scope, username, client, count, last_at FROM login_attempts
                WHERE last_at > $since AND count > 0
                ORDER BY count DESC, last_at DESC, scope, username, client LIMIT $limit
                """).With("$since", now - windowSeconds).With("$limit", Positive(limit)).ExecuteReader();
            var counters = new List<AttemptCounterState>();
            while (reader.Read())
            {
                counters.Add(new AttemptCounterState((AttemptScope)reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt64(4)));
            }

            return counters;
        });

    public ValueTask<int> ClearAttemptCountersAsync(string? username, string? client, CancellationToken cancellationToken) =>
        username is null && client is null
            ? ValueTask.FromResult(0)
            : Write(cancellationToken, commands =>
                commands.Get(
                    """
                    DELETE FROM login_attempts
                    WHERE (scope IN (0, 2) AND username = $username) OR (scope IN (0, 1) AND client = $client)
                    """).With("$username", username).With("$client", client).ExecuteNonQuery());

    public ValueTask<int> PurgeLoginStateAsync(long countersBefore, long familiarBefore, int batchSize, CancellationToken cancellationToken) =>
        Write(cancellationToken, commands =>
            commands.Get(
                """
                DELETE FROM login_attempts WHERE (scope, username, client) IN (
                    SELECT scope, username, client FROM login_attempts WHERE last_at < $before LIMIT $batch)
                """).With("$before", countersBefore).With("$batch", Positive(batchSize)).ExecuteNonQuery()
            + commands.Get(
                """
                DELETE FROM login_familiar WHERE (username, client) IN (
                    SELECT username, client FROM login_familiar WHERE last_success < $before LIMIT $batch)
                """).With("$before", familiarBefore).With("$batch", Positive(batchSize)).ExecuteNonQuery());

    private ValueTask<bool> ReleaseChangesAnythingAsync(
        IReadOnlyList<AttemptCounter> counters, bool forgetPairs, (string Username, string Client)? familiar, long now, CancellationToken cancellationToken) =>
        Read(cancellationToken, commands =>
        {
            foreach (var counter in counters)
            {
                using var reader = WithKey(commands.Get(FindCounterSql), counter).ExecuteReader();
                if (reader.Read() && ((counter.Scope == AttemptScope.Pair && forgetPairs) || reader.GetInt32(0) > 0))
                {
                    return true;
                }
            }

            return familiar is { } pair
                && commands.Get(FamiliarSinceSql).With("$username", pair.Username).With("$client", pair.Client)
                    .With("$since", now - LoginAttempts.FamiliarRefreshSeconds).ExecuteScalar() is not 1L;
        });

    private static Microsoft.Data.Sqlite.SqliteCommand WithKey(Microsoft.Data.Sqlite.SqliteCommand command, AttemptCounter counter) =>
        command.With("$scope", (int)counter.Scope).With("$username", counter.Username).With("$client", counter.Client);
}
