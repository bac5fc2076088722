using System.Diagnostics;
using Microsoft.Data.Sqlite;
using TokenGate.Testing;

namespace TokenGate.Reliability.Tests;

/// <summary>
/// Issue 8.2 on SQLite: a real <c>tokengate serve</c> under load while its database becomes unwritable, the disk fills up, or
/// another process locks the database. Every request must get HTTP 200 or a deliberate 503 (contract body
/// <c>Service unavailable</c>, <c>Retry-After: 1</c>) within a bound — never a 500, never a hang; reads that can be answered
/// (validating a known token) are answered throughout; service returns by itself once the fault is gone; and no token
/// acknowledged before, during or after the fault is lost. PostgreSQL stopped and restarted under load is
/// tests/TokenGate.Tests PostgresClusterTests.While_PostgreSQL_is_down_both_instances_answer_503_promptly_and_recover_by_themselves.
/// </summary>
public sealed class StorageFaultTests
{
    /// <summary>
    /// The slowest a request may be answered under a fault. By design a write waits at most the busy timeout (5 s) for a lock and
    /// is refused after 10 s in the write queue, so one admitted just before that limit can take 10 s + 5 s; 2 s more for a
    /// 2-core machine running the rest of the test suite beside this test.
    /// </summary>
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(17);

    /// <summary>How long after the fault is gone writes must succeed again.</summary>
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    private static ReliabilityProfile Profile => ReliabilityProfile.Current;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact(Timeout = ReliabilityProfile.TestTimeoutMilliseconds)]
    public async Task Database_locked_by_another_process_writes_get_503_in_bounded_time_reads_are_answered_and_service_returns()
    {
        await using var deployment = Deployment.Sqlite();
        SqliteConnection? locker = null;
        try
        {
            await RunAsync(
                "database locked by another process (BEGIN EXCLUSIVE held)",
                deployment,
                inject: async () =>
                {
                    locker = new SqliteConnection($"Data Source={deployment.Database};Pooling=false;Default Timeout=30");
                    await locker.OpenAsync(Cancel);
                    await Execute(locker, "PRAGMA busy_timeout = 30000; BEGIN EXCLUSIVE;");
                },
                heal: async () =>
                {
                    await Execute(locker!, "ROLLBACK");
                    await locker!.DisposeAsync();
                    locker = null;
                });
        }
        finally
        {
            locker?.Dispose();
        }
    }

    [Fact(Timeout = ReliabilityProfile.TestTimeoutMilliseconds)]
    public async Task Database_files_unwritable_writes_get_503_in_bounded_time_reads_are_answered_and_service_returns()
    {
        SystemFaults.RequireRoot("Making the database unwritable under a running server");
        await using var deployment = Deployment.Sqlite();
        string[] files = [deployment.Database, deployment.Database + "-wal"];
        try
        {
            await RunAsync(
                "database files unwritable (chattr +i on the file and its WAL; root ignores file modes, and a read-only remount is refused while the file is open for writing)",
                deployment,
                inject: () => SystemFaults.SetImmutableAsync(true, files),
                heal: () => SystemFaults.SetImmutableAsync(false, files));
        }
        finally
        {
            if (files.Where(File.Exists).ToArray() is { Length: > 0 } existing)
            {
                await SystemFaults.SetImmutableAsync(false, existing);
            }
        }
    }

    [Fact(Timeout = ReliabilityProfile.TestTimeoutMilliseconds)]
    public async Task Disk_full_writes_get_503_in_bounded_time_reads_are_answered_and_service_returns()
    {
        SystemFaults.RequireRoot("Filling a disk under a running server");
        await using var disk = await TmpfsMount.CreateAsync(16 * 1024 * 1024);
        await using var deployment = Deployment.Sqlite(directory: disk.Path);
        long filled = 0;
        await RunAsync(
            "disk full (the database on a 16 MB tmpfs, filled up by another file)",
            deployment,
            inject: () =>
            {
                filled = disk.Fill();
                return Task.CompletedTask;
            },
            heal: () =>
            {
                disk.Empty();
                return Task.CompletedTask;
            },
            detail: () => $"filler {Figures.Megabytes(filled)}");
    }

    private static async Task Execute(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = 30;
        await command.ExecuteNonQueryAsync(Cancel);
    }

    /// <summary>
    /// Healthy load, then the fault for <see cref="ReliabilityProfile.FaultDuration"/>, then healthy again until writes succeed.
    /// Writers get tokens for fresh address sets (each a write); a reader validates a token issued before the fault; another
    /// client gets the reader's token again (answered from memory or the read path, no write needed).
    /// </summary>
    private static async Task RunAsync(string fault, Deployment deployment, Func<Task> inject, Func<Task> heal, Func<string>? detail = null)
    {
        const int Writers = 3;
        const string Password = "fault test password";
        await deployment.AddAccountsAsync(Enumerable.Range(0, Writers).Select(i => ($"writer{i}", Password)).Append(("reader", Password)));
        var served = await deployment.StartAsync();
        using var http = LoopbackClient.Create(served.BaseAddress, timeout: ClientTimeout);
        var known = await TokenCalls.GetAsync(http, served.BaseAddress, "reader", Password, "127.0.0.1");
        Assert.True(known.Acknowledged, known.ToString());
        var knownToken = known.Contract!.Token!;

        var ledger = new TokenLedger();
        ledger.Acknowledge("reader", "127.0.0.1", knownToken, known.Contract.Expire!.Value, "before the fault");
        var answers = new List<(string Kind, TimeSpan SentAt, Answer Answer)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();

        async Task Loop(string kind, Func<int, Task<Answer>> send)
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var sentAt = clock.Elapsed;
                var answer = await send(n);
                lock (answers)
                {
                    answers.Add((kind, sentAt, answer));
                }

                await Task.Delay(answer.Status == 503 ? 50 : 10, CancellationToken.None);
            }
        }

        var load = Enumerable.Range(0, Writers).Select(w => Task.Run(() => Loop("write", async n =>
        {
            var set = $"127.0.0.1, 10.{w}.{n / 250 % 250}.{n % 250 + 1}";
            var answer = await TokenCalls.GetAsync(http, served.BaseAddress, $"writer{w}", Password, set, cancellationToken: CancellationToken.None);
            if (answer.Acknowledged)
            {
                ledger.Acknowledge($"writer{w}", set, answer.Contract!.Token!, answer.Contract.Expire!.Value, "during the fault test");
            }

            return answer;
        }))).ToList();
        load.Add(Task.Run(() => Loop("validate", _ => TokenCalls.ValidateAsync(http, served.BaseAddress, knownToken, cancellationToken: CancellationToken.None))));
        load.Add(Task.Run(() => Loop("get again", _ => TokenCalls.GetAsync(http, served.BaseAddress, "reader", Password, "127.0.0.1", cancellationToken: CancellationToken.None))));

        TimeSpan injected, healed, recovered;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1.5), Cancel);
            await inject();
            injected = clock.Elapsed;
            await Task.Delay(Profile.FaultDuration, Cancel);
            await heal();
            healed = clock.Elapsed;

            // Recovered when a write sent after the fault was gone has been acknowledged.
            while (true)
            {
                lock (answers)
                {
                    if (answers.FirstOrDefault(a => a.Kind == "write" && a.SentAt > healed && a.Answer.Acknowledged) is { Answer: not null } first)
                    {
                        recovered = first.SentAt + first.Answer.Took;
                        break;
                    }
                }

                Assert.True(clock.Elapsed - healed < RecoveryBound + AnswerBound, $"no write succeeded within {RecoveryBound + AnswerBound} of the fault's end.\n{deployment.Logs()}");
                await Task.Delay(20, Cancel);
            }

            await Task.Delay(TimeSpan.FromSeconds(1), Cancel);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        List<(string Kind, TimeSpan SentAt, Answer Answer)> all;
        lock (answers)
        {
            all = [.. answers];
        }

        // Every acknowledged token, before, during and after the fault, still validates.
        var lost = await ledger.CountLostAsync(http, served.BaseAddress, Cancel);

        Assert.False(served.Process.HasExited, $"the server exited under the fault:\n{deployment.Logs()}");
        var exit = await served.Process.TerminateAsync(TimeSpan.FromSeconds(30));

        // Requests that overlapped the fault: sent before it was gone, answered after it began.
        var during = all.Where(a => a.SentAt < healed && a.SentAt + a.Answer.Took > injected).ToList();
        var writesDuring = during.Where(a => a.Kind == "write").ToList();
        var readsDuring = during.Where(a => a.Kind != "write").ToList();
        var first503 = all.Where(a => a.Answer.Status == 503).Select(a => a.SentAt + a.Answer.Took).DefaultIfEmpty(TimeSpan.MaxValue).Min();
        var slowest503 = all.Where(a => a.Answer.Status == 503).Select(a => a.Answer.Took).DefaultIfEmpty().Max();
        Figures.Report(
            $"Storage fault: {fault}",
            $"{all.Count:N0} requests ({all.Count(a => a.Answer.Status == 200):N0} × 200, {all.Count(a => a.Answer.Status == 503):N0} × 503, "
            + $"{all.Count(a => a.Answer.Status is not (200 or 503)):N0} other); fault held {(healed - injected).TotalSeconds:F1} s{(detail is null ? string.Empty : ", " + detail())}; "
            + $"first 503 {Figures.Milliseconds(first503 - injected)} after the fault began; writes during the fault: {writesDuring.Count(a => a.Answer.Status == 503)} × 503, "
            + $"{writesDuring.Count(a => a.Answer.Acknowledged)} acknowledged; slowest 503 {Figures.Milliseconds(slowest503)}, slowest answer of all "
            + $"{Figures.Milliseconds(all.Max(a => a.Answer.Took))}; reads during the fault: {readsDuring.Count} ({readsDuring.Count(a => a.Answer.Acknowledged)} answered 200 success, "
            + $"{readsDuring.Count(a => a.Answer.Status == 503)} × 503), slowest {Figures.Milliseconds(readsDuring.Select(a => a.Answer.Took).DefaultIfEmpty().Max())}; "
            + $"writes succeeded again {Figures.Milliseconds(recovered - healed)} after the fault was gone; tokens checked {ledger.Count}, lost = {lost}.");

        var failures = new List<string>();
        failures.AddRange(all.Where(a => !a.Answer.Responded).Select(a => $"{a.Kind} at {a.SentAt}: {a.Answer}"));
        failures.AddRange(all.Where(a => a.Answer.Responded && !(a.Answer.Status == 200 && a.Answer.Contract is not null) && !a.Answer.IsServiceUnavailable)
            .Select(a => $"{a.Kind} at {a.SentAt}: {a.Answer} (Retry-After {a.Answer.RetryAfter})"));
        failures.AddRange(all.Where(a => a.Answer.Took > AnswerBound).Select(a => $"{a.Kind} at {a.SentAt} took {a.Answer.Took}: {a.Answer}"));
        failures.AddRange(all.Where(a => a.Answer.Status == 200 && !a.Answer.Acknowledged).Select(a => $"{a.Kind} at {a.SentAt}: {a.Answer}"));
        failures.AddRange(ledger.Violations);
        failures.AddRange(readsDuring.Where(a => !a.Answer.Acknowledged).Select(a => $"a read that can be answered was not, during the fault: {a.Kind} at {a.SentAt}: {a.Answer}"));

        Assert.True(failures.Count == 0, $"{failures.Count} failure(s):\n{string.Join("\n", failures.Take(30))}\n\nserver log:\n{deployment.Logs()}");
        Assert.True(writesDuring.Any(a => a.Answer.IsServiceUnavailable), $"the fault was never felt: no write during it got 503.\n{deployment.Logs()}");
        Assert.True(readsDuring.Count >= 5, $"only {readsDuring.Count} reads during the fault");
        Assert.Equal(0, exit);
    }
}
