using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using TokenGate.Testing;

namespace TokenGate.Reliability.Tests;

/// <summary>
/// Issue 8.4: mixed load for <see cref="ReliabilityProfile.SoakDuration"/> (10 minutes in the full profile) against one
/// <c>tokengate serve</c> on SQLite with short token lifetimes and a short retention, so that tokens are issued, expire and are
/// swept many times over. No request may fail; the token table must stay bounded by what was issued within one lifetime, one
/// retention window and one sweep interval (the sweeper keeps up); resident memory and open file descriptors must stay flat
/// after the warm-up.
/// </summary>
public sealed class SoakTests
{
    private const int Clients = 4;
    private const string Password = "soak client password";
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The test's clock and the server's expiry decisions may differ by this much (same clock, 1 s resolution).</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(2);

    private static ReliabilityProfile Profile => ReliabilityProfile.Current;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact(Timeout = ReliabilityProfile.TestTimeoutMilliseconds)]
    public async Task Mixed_load_with_short_lifetimes_has_no_error_and_keeps_memory_the_token_table_and_descriptors_bounded()
    {
        var lifetime = Profile.SoakLifetime;
        var retention = Profile.SoakRetention;
        var sweep = Profile.SoakSweepInterval;
        await using var deployment = Deployment.Sqlite(new Dictionary<string, string>
        {
            ["TOKENGATE_MAX_ACTIVE_TOKENS_PER_ACCOUNT"] = "1000000",
            ["TOKENGATE_SWEEP_INTERVAL"] = Seconds(sweep),
        });
        await deployment.AddAccountsAsync(Enumerable.Range(0, Clients).Select(i => ($"soak{i}", Password)));
        var served = await deployment.StartAsync("--token-lifetime", Seconds(lifetime).TrimEnd('s'), "--expired-retention", Seconds(retention));

        var issuedAt = new List<DateTimeOffset>();
        var errors = new List<string>();
        var counts = new SoakCounters();
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var load = Enumerable.Range(0, Clients)
            .Select(i => Task.Run(() => RunClientAsync(i, served.BaseAddress, issuedAt, errors, counts, stop.Token), CancellationToken.None))
            .ToList();

        // Sample the process and the table until the duration is over, or until the first error.
        var samples = new List<Sample>();
        await using var table = new SqliteConnection($"Data Source={deployment.Database};Mode=ReadOnly;Pooling=false;Default Timeout=30");
        await table.OpenAsync(Cancel);
        try
        {
            while (clock.Elapsed < Profile.SoakDuration)
            {
                await Task.Delay(Profile.SoakSampleInterval, Cancel);
                Assert.False(served.Process.HasExited, $"the server exited during the soak:\n{deployment.Logs()}");
                samples.Add(new Sample(
                    clock.Elapsed,
                    served.Process.ResidentBytes() ?? 0,
                    served.Process.OpenFileDescriptors() ?? 0,
                    await CountAsync(table, "SELECT count(*) FROM tokens"),
                    await CountAsync(table, $"SELECT count(*) FROM tokens WHERE expires_at < {(DateTimeOffset.UtcNow - retention - sweep - Slack - Slack).ToUnixTimeSeconds()}"),
                    TokensIssuedWithin(issuedAt, lifetime + retention + sweep + Slack + Slack)));
                lock (errors)
                {
                    if (errors.Count > 0)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        var exit = await served.Process.TerminateAsync(TimeSpan.FromSeconds(30));

        // After the warm-up (the first quarter: JIT, tiered compilation, pools and caches filling) nothing may grow.
        var warm = samples.Where(s => s.At >= Profile.SoakDuration / 4).ToList();
        var warmUp = samples.Except(warm).ToList();
        var baselineRss = warmUp.Count > 0 ? warmUp.Max(s => s.Resident) : warm[0].Resident;
        var peakRss = warm.Max(s => s.Resident);
        var lastQuarter = warm.Where(s => s.At >= Profile.SoakDuration * 3 / 4).ToList();
        Figures.Report(
            "Soak",
            $"{clock.Elapsed.TotalMinutes:F1} min of mixed load from {Clients} clients, token lifetime {Seconds(lifetime)}, retention {Seconds(retention)}, sweep every {Seconds(sweep)}: "
            + $"{counts.Requests:N0} requests ({counts.FreshGets:N0} gets issuing a token, {counts.RepeatGets:N0} repeated gets, {counts.Validations:N0} validations, "
            + $"{counts.Expired:N0} validations of expired tokens, {counts.Deletes:N0} deletes), errors = {errors.Count}; "
            + $"tokens in the table: max {samples.Max(s => s.Tokens):N0} (bound at that moment {samples.First(s => s.Tokens == samples.Max(t => t.Tokens)).Bound:N0}), "
            + $"at the end {samples[^1].Tokens:N0}; tokens past retention and a sweep left behind: max {samples.Max(s => s.Overdue):N0}; "
            + $"RSS after warm-up: first {Figures.Megabytes(warm[0].Resident)}, peak {Figures.Megabytes(peakRss)}, last {Figures.Megabytes(warm[^1].Resident)} "
            + $"(warm-up peak {Figures.Megabytes(baselineRss)}); file descriptors after warm-up: first {warm[0].Descriptors}, max {warm.Max(s => s.Descriptors)}, "
            + $"last {warm[^1].Descriptors}; {samples.Count} samples.");

        lock (errors)
        {
            Assert.True(errors.Count == 0, $"{errors.Count} error(s):\n{string.Join("\n", errors.Take(20))}\n\nserver log:\n{deployment.Logs()}");
        }

        Assert.True(counts.FreshGets > 100 && counts.Validations > 100, $"too little load: {counts.FreshGets} fresh gets, {counts.Validations} validations");

        // The sweeper keeps up: no sample holds more tokens than were issued within one lifetime, retention and sweep interval
        // (plus slack), and none holds a token overdue by more than a sweep interval.
        Assert.All(samples, s => Assert.True(s.Tokens <= s.Bound + 50, $"at {s.At}: {s.Tokens} tokens in the table, but only {s.Bound} issued within the window"));
        Assert.All(samples, s => Assert.True(s.Overdue == 0, $"at {s.At}: {s.Overdue} tokens past retention still in the table"));

        // Memory bounded: the peak after warm-up at most half again the warm-up's peak (or 48 MB over it, for a small
        // process whose GC heap breathes), and the last quarter no higher than that either.
        var rssBound = Math.Max(baselineRss * 3 / 2, baselineRss + (48L << 20));
        Assert.True(peakRss <= rssBound, $"RSS grew from {Figures.Megabytes(baselineRss)} to {Figures.Megabytes(peakRss)}");
        Assert.True(lastQuarter.Count == 0 || lastQuarter.Max(s => s.Resident) <= rssBound, "RSS still rising in the last quarter");

        // Descriptors flat: the clients hold a fixed number of keep-alive connections; a leak would add one per request.
        Assert.True(warm.Max(s => s.Descriptors) <= warm[0].Descriptors + 16, $"file descriptors grew from {warm[0].Descriptors} to {warm.Max(s => s.Descriptors)}");
        Assert.Equal(0, exit);
    }

    /// <summary>
    /// One client's loop: gets for a fresh address set (a new token), repeated gets for a fixed set (the same token while it
    /// lives, a new one after), validations of its own tokens (success while unexpired, <c>Expired token</c> after, within the
    /// retention), and deletes. Every answer is checked against what the client knows.
    /// </summary>
    private static async Task RunClientAsync(int index, Uri baseAddress, List<DateTimeOffset> issuedAt, List<string> errors, SoakCounters counts, CancellationToken stop)
    {
        var random = new Random(Profile.Seed + index);
        var account = $"soak{index}";
        var mine = new List<Issued>();
        using var http = LoopbackClient.Create(baseAddress, timeout: ClientTimeout);
        void Error(string what)
        {
            lock (errors)
            {
                errors.Add($"{account}: {what}");
            }
        }

        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            mine.RemoveAll(t => t.Expire + Profile.SoakRetention.TotalSeconds - Slack.TotalSeconds < now);
            var roll = random.Next(100);
            counts.Request();
            if (roll < 50 && mine.Count > 0)
            {
                var token = mine[random.Next(mine.Count)];
                var answer = await TokenCalls.ValidateAsync(http, baseAddress, token.Token, random.Next(4) == 0 ? "xml" : "json", CancellationToken.None);
                if (token.Expire - Slack.TotalSeconds > now)
                {
                    counts.Validated();
                    if (!answer.Acknowledged || answer.Contract!.Expire != token.Expire)
                    {
                        Error($"validate of a live token (expire {token.Expire}, now {now}) answered {answer}");
                    }
                }
                else if (token.Expire + Slack.TotalSeconds < now)
                {
                    counts.ValidatedExpired();
                    if (answer.Status != 200 || answer.Contract is not { Success: false, Error: "Expired token" })
                    {
                        Error($"validate of an expired token within retention (expire {token.Expire}, now {now}) answered {answer}");
                    }
                }
                else if (answer.Status != 200 || answer.Contract is null)
                {
                    Error($"validate near expiry answered {answer}");
                }
            }
            else if (roll < 55 && mine.Count > 0)
            {
                var token = mine[random.Next(mine.Count)];
                var answer = await TokenCalls.DeleteAsync(http, baseAddress, token.Token, CancellationToken.None);
                counts.Deleted();
                mine.Remove(token);

                // A token deleted after it expired may already be gone or answer as expired; a live one must be deleted.
                if (token.Expire - Slack.TotalSeconds > now && !(answer.Status == 200 && answer.Contract is { Success: true }))
                {
                    Error($"delete of a live token answered {answer}");
                }
            }
            else
            {
                var fresh = roll >= 70;
                var set = fresh
                    ? $"127.0.0.1, 10.{index}.{n / 250 % 250}.{n % 250 + 1}"
                    : $"127.0.0.1, 192.0.2.{index + 1}";
                var answer = await TokenCalls.GetAsync(http, baseAddress, account, Password, set, cancellationToken: CancellationToken.None);
                if (fresh)
                {
                    counts.FreshGet();
                }
                else
                {
                    counts.RepeatGet();
                }

                if (answer.Acknowledged && answer.Contract is { Token: { Length: 40 } value, Expire: { } expire })
                {
                    if (!mine.Any(t => t.Token == value))
                    {
                        mine.Add(new Issued(account, set, value, expire));
                        lock (issuedAt)
                        {
                            issuedAt.Add(DateTimeOffset.UtcNow);
                        }
                    }
                }
                else
                {
                    Error($"get for [{set}] answered {answer}");
                }
            }

            // A little think time keeps the two cores for the server, the sweeper and the sampler.
            if (n % 4 == 0)
            {
                await Task.Delay(1, CancellationToken.None);
            }
        }
    }

    private static int TokensIssuedWithin(List<DateTimeOffset> issuedAt, TimeSpan window)
    {
        var since = DateTimeOffset.UtcNow - window;
        lock (issuedAt)
        {
            return issuedAt.Count(t => t >= since);
        }
    }

    private static async Task<long> CountAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync(Cancel))!;
    }

    private static string Seconds(TimeSpan time) => string.Create(CultureInfo.InvariantCulture, $"{(int)time.TotalSeconds}s");

    private sealed record Sample(TimeSpan At, long Resident, int Descriptors, long Tokens, long Overdue, int Bound);

    private sealed class SoakCounters
    {
        private int _requests;
        private int _freshGets;
        private int _repeatGets;
        private int _validations;
        private int _expired;
        private int _deletes;

        public int Requests => Volatile.Read(ref _requests);

        public int FreshGets => Volatile.Read(ref _freshGets);

        public int RepeatGets => Volatile.Read(ref _repeatGets);

        public int Validations => Volatile.Read(ref _validations);

        public int Expired => Volatile.Read(ref _expired);

        public int Deletes => Volatile.Read(ref _deletes);

        public void Request() => Interlocked.Increment(ref _requests);

        public void FreshGet() => Interlocked.Increment(ref _freshGets);

        public void RepeatGet() => Interlocked.Increment(ref _repeatGets);

        public void Validated() => Interlocked.Increment(ref _validations);

        public void ValidatedExpired() => Interlocked.Increment(ref _expired);

        public void Deleted() => Interlocked.Increment(ref _deletes);
    }
}
