using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using TokenGate.Cli;
using TokenGate.Security;
using TokenGate.Testing;

[assembly: AssemblyFixture(typeof(PostgresFixture))]

namespace TokenGate.Tests;

/// <summary>
/// Two real <c>tokengate serve</c> processes on one PostgreSQL database behave as one server: one token for concurrent gets,
/// a token from one validates on the other, revocations on either (or by the operator CLI) are honoured by both within a
/// second although each caches validations, the sweeper runs in one at a time, and an outage of the database is a clean 503
/// from both, with recovery by themselves. The measured figures are printed (diagnostic messages).
/// </summary>
[UnsupportedOSPlatform("windows")]
[Collection(PostgresClusterCollection.Name)]
public sealed partial class PostgresClusterTests(PostgresFixture postgres)
{
    private const int TestTimeout = 240_000;
    private const string Password = "alice's long password";
    private static readonly TimeSpan RevocationDeadline = TimeSpan.FromSeconds(1);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact(Timeout = TestTimeout)]
    public async Task Concurrent_gets_through_both_instances_return_one_token_that_validates_on_either()
    {
        await using var cluster = await TwoInstances.StartAsync(postgres);
        await cluster.AddAccountAsync("alice", Password);

        // Each instance has verified the password once (as a busy instance has): the gets below race in the database, not in PBKDF2.
        Assert.True((await cluster.Api(0).GetTokenAsync("alice", Password, "192.0.2.1")).Success);
        Assert.True((await cluster.Api(1).GetTokenAsync("alice", Password, "192.0.2.1")).Success);

        var gets = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(
            () => cluster.Api(i % 2).GetTokenAsync("alice", Password, "127.0.0.1, 192.0.2.7"),
            Cancel)));

        Assert.All(gets, body => Assert.True(body.Success, body.Error + "\n" + string.Join("\n---\n", cluster.Instances.Select(i => i.Output))));
        Assert.Single(gets.Select(body => (body.Token, body.Expire)).Distinct());
        var token = gets[0].Token!;
        foreach (var instance in new[] { 0, 1 })
        {
            var validated = await cluster.Api(instance).ValidateAsync(token);
            Assert.True(validated.Success);
            Assert.Equal(gets[0].Expire, validated.Expire);
        }

        var fromFirst = await cluster.Api(0).GetTokenAsync("alice", Password);
        Assert.True((await cluster.Api(1).ValidateAsync(fromFirst.Token!)).Success);
        Assert.Equal(fromFirst.Token, (await cluster.Api(1).GetTokenAsync("alice", Password)).Token);
        cluster.AssertLogsAreClean();
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Revocations_on_one_instance_or_by_the_operator_are_honoured_by_the_other_within_a_second()
    {
        await using var cluster = await TwoInstances.StartAsync(postgres);
        await cluster.AddAccountAsync("alice", Password);
        var lags = new List<(string What, TimeSpan Lag)>();

        // delete on the first; the second has the token cached.
        var deleted = await cluster.WarmTokenAsync("127.0.0.1");
        Assert.True((await cluster.Api(0).DeleteAsync(deleted)).Success);
        var since = Stopwatch.StartNew();
        lags.Add(("delete", await LagUntilAsync(since, () => IsRefused(cluster.Api(1).ValidateAsync(deleted)))));

        // newpass on the first: the second forgets the other tokens and the old password; the token used keeps working.
        var used = await cluster.WarmTokenAsync("127.0.0.1");
        var other = await cluster.WarmTokenAsync("127.0.0.1, 127.0.0.2");
        Assert.True((await cluster.Api(1).GetTokenAsync("alice", Password, "127.0.0.1, 127.0.0.2")).Success);
        Assert.True((await cluster.Api(0).NewPasswordAsync(used, "alice's second password")).Success);
        since.Restart();
        lags.Add(("newpass: other token", await LagUntilAsync(since, () => IsRefused(cluster.Api(1).ValidateAsync(other)))));
        lags.Add(("newpass: old password", await LagUntilAsync(since, async () => (await cluster.Api(1).GetTokenAsync("alice", Password, "127.0.0.1, 127.0.0.2")).Error == "Authentication failure")));
        Assert.True((await cluster.Api(1).ValidateAsync(used)).Success);

        // account disable, by the operator CLI against the same database.
        var beforeDisable = await cluster.WarmTokenAsync("127.0.0.1", "alice's second password");
        Assert.True((await cluster.Api(1).GetTokenAsync("alice", "alice's second password")).Success);
        await cluster.CliAsync("account", "disable", "alice");
        since.Restart();
        lags.Add(("account disable: token", await LagUntilAsync(since, async () => await IsRefused(cluster.Api(0).ValidateAsync(beforeDisable)) && await IsRefused(cluster.Api(1).ValidateAsync(beforeDisable)))));
        lags.Add(("account disable: get", await LagUntilAsync(since, async () => (await cluster.Api(1).GetTokenAsync("alice", "alice's second password")).Error == "Authentication failure")));

        // token revoke, by the operator CLI.
        await cluster.CliAsync("account", "enable", "alice");
        var beforeRevoke = await cluster.WarmTokenAsync("127.0.0.1", "alice's second password");
        await cluster.CliAsync("token", "revoke", "--account", "alice");
        since.Restart();
        lags.Add(("token revoke", await LagUntilAsync(since, async () => await IsRefused(cluster.Api(0).ValidateAsync(beforeRevoke)) && await IsRefused(cluster.Api(1).ValidateAsync(beforeRevoke)))));

        Report("Revocation lag across two instances (from the revoking call's answer to the other instance's refusal): "
            + string.Join("; ", lags.Select(l => $"{l.What} {l.Lag.TotalMilliseconds:F0} ms")));
        Assert.All(lags, l => Assert.True(l.Lag < RevocationDeadline, $"{l.What} took {l.Lag.TotalMilliseconds:F0} ms"));
        cluster.AssertLogsAreClean();
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_sweeper_runs_in_one_instance_at_a_time_and_deletes_in_batches()
    {
        const int Expired = 2_000;
        const int BatchSize = 25;
        var sweeping = new Dictionary<string, string>
        {
            ["TOKENGATE_SWEEP_INTERVAL"] = "1s",
            ["TOKENGATE_SWEEP_BATCH_SIZE"] = BatchSize.ToString(CultureInfo.InvariantCulture),
            ["Logging__LogLevel__TokenGate.Server.Maintenance.ExpiredTokenSweeper"] = "Debug",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
        };
        await using var cluster = await TwoInstances.StartAsync(postgres, sweeping);
        await cluster.AddAccountAsync("alice", Password);
        var live = await cluster.Api(0).GetTokenAsync("alice", Password);

        // Tokens that expired ten days ago, past the default retention of seven: what the sweeper is for.
        var tenDaysAgo = DateTimeOffset.UtcNow.AddDays(-10).ToUnixTimeSeconds();
        await cluster.Sql(
            $"""
            INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at)
            SELECT sha256(convert_to('expired-' || i, 'UTF8')), a.id, '10.0.0.1', '\x00'::bytea, {tenDaysAgo - 43_200}, {tenDaysAgo}
            FROM accounts a, generate_series(1, {Expired}) i WHERE a.name = 'alice'
            """);

        var counts = new List<long>();
        var clock = Stopwatch.StartNew();
        long remaining;
        while ((remaining = await cluster.ScalarAsync<long>($"SELECT count(*) FROM tokens WHERE expires_at <= {tenDaysAgo}")) > 0)
        {
            counts.Add(remaining);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"{remaining} expired tokens still there");
            await Task.Delay(25, Cancel);
        }

        // Let the round that deleted the last batch log its end.
        await Task.Delay(TimeSpan.FromSeconds(2.5), Cancel);
        Assert.True((await cluster.Api(1).ValidateAsync(live.Token!)).Success);

        var rounds = cluster.Instances.SelectMany((instance, i) => SweepRounds(instance.Output).Select(r => (Instance: i, r.Start, r.End, r.Purged))).ToList();
        var skipped = cluster.Instances.Sum(instance => Regex.Matches(instance.Output, "Skipped this sweep: another instance holds the maintenance lock").Count);
        var busy = rounds.Where(r => r.Purged > 0).ToList();
        Report($"Sweeper: {Expired} expired tokens purged in {clock.Elapsed.TotalSeconds:F1} s by {busy.Count} round(s) "
            + $"({string.Join(", ", busy.Select(r => $"instance {r.Instance + 1}: {r.Purged} in {(r.End - r.Start).TotalSeconds:F1} s"))}); "
            + $"{rounds.Count} rounds in all, {skipped} attempts skipped while the other held the lock; {counts.Distinct().Count()} distinct counts seen while purging.");

        Assert.True(Expired == rounds.Sum(r => r.Purged), string.Join("\n---\n", cluster.Instances.Select(i => i.Output)));
        Assert.True(skipped > 0, "one instance should have found the lock held by the other at least once");
        foreach (var first in rounds)
        {
            foreach (var second in rounds.Where(r => r.Instance != first.Instance))
            {
                Assert.False(first.Start < second.End && second.Start < first.End, $"rounds overlap: {first} and {second}");
            }
        }

        Assert.True(counts.Distinct().Count() >= 5, $"the count should fall batch by batch: {string.Join(", ", counts.Distinct())}");
        cluster.AssertLogsAreClean();
    }

    [Fact(Timeout = TestTimeout)]
    public async Task While_PostgreSQL_is_down_both_instances_answer_503_promptly_and_recover_by_themselves()
    {
        await using var cluster = await TwoInstances.StartAsync(postgres);
        await cluster.AddAccountAsync("alice", Password);
        var token = await cluster.WarmTokenAsync("127.0.0.1");
        using var traffic = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var answers = new List<Answer>();
        var clock = Stopwatch.StartNew();
        var senders = Enumerable.Range(0, 4).Select(i => SendAsync(cluster, i % 2, i < 2 ? "validate" : "get", token, answers, clock, traffic.Token)).ToList();
        await Task.Delay(TimeSpan.FromSeconds(1), Cancel);

        var stopping = clock.Elapsed;
        try
        {
            await cluster.Postgres.StopAsync();
            var stopped = clock.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(4), Cancel);
            var restarting = clock.Elapsed;
            await cluster.Postgres.StartAgainAsync();
            var started = clock.Elapsed;

            // Recovered when every kind of request on both instances has succeeded again.
            TimeSpan recovered;
            while (true)
            {
                Assert.True(clock.Elapsed - started < TimeSpan.FromSeconds(20), "the instances should recover by themselves");
                var now = clock.Elapsed;
                lock (answers)
                {
                    if (new[] { 0, 1 }.All(instance => new[] { "validate", "get" }.All(action =>
                        answers.Any(a => a.Instance == instance && a.Action == action && a.SentAt > started && a.Status == 200 && a.Success))))
                    {
                        recovered = now;
                        break;
                    }
                }

                await Task.Delay(20, Cancel);
            }

            await traffic.CancelAsync();
            await Task.WhenAll(senders);

            List<Answer> all;
            lock (answers)
            {
                all = [.. answers];
            }

            var outage = all.Where(a => a.SentAt > stopped + TimeSpan.FromSeconds(0.5) && a.SentAt + a.Took < restarting).ToList();
            var first503 = all.Where(a => a.Status == 503).Select(a => a.SentAt + a.Took).DefaultIfEmpty(TimeSpan.MaxValue).Min();
            Report($"Outage: {all.Count} requests; PostgreSQL stopped in {(stopped - stopping).TotalSeconds:F1} s, first 503 {(first503 - stopping).TotalMilliseconds:F0} ms after the stop began; "
                + $"{outage.Count} requests during the outage, all 503, slowest {outage.Select(a => a.Took).DefaultIfEmpty().Max().TotalMilliseconds:F0} ms; "
                + $"both instances served validate and get again {(recovered - started).TotalMilliseconds:F0} ms after PostgreSQL was back.");

            Assert.All(all, a => Assert.True(a.Status is 200 or 503, $"{a.Action} on instance {a.Instance + 1} at {a.SentAt}: HTTP {a.Status} {a.Body}"));
            Assert.All(all.Where(a => a.Status == 503), a => Assert.Equal("""{"success":false,"error":"Service unavailable"}""", a.Body));
            Assert.All(all, a => Assert.True(a.Took < TimeSpan.FromSeconds(5), $"{a.Action} took {a.Took}"));
            Assert.True(outage.Count >= 20, $"only {outage.Count} requests during the outage");
            Assert.All(outage, a => Assert.Equal(503, a.Status));
            Assert.True((await cluster.Api(0).ValidateAsync(token)).Success);
            Assert.True((await cluster.Api(1).ValidateAsync(token)).Success);
        }
        finally
        {
            await traffic.CancelAsync();
            if (!File.Exists(Path.Combine(cluster.Postgres.DataDirectory, "postmaster.pid")))
            {
                await cluster.Postgres.StartAgainAsync();
            }
        }

        cluster.AssertLogsAreClean();
    }

    private static async Task SendAsync(TwoInstances cluster, int instance, string action, string token, List<Answer> answers, Stopwatch clock, CancellationToken stop)
    {
        using var http = LoopbackClient.Create(cluster.BaseAddress(instance), timeout: TimeSpan.FromSeconds(15));
        var deadline = clock.Elapsed + TimeSpan.FromSeconds(60);
        while (!stop.IsCancellationRequested && clock.Elapsed < deadline)
        {
            var path = action == "validate"
                ? $"token.php?action=validate&token={token}"
                : $"token.php?action=get&username=alice&password={Uri.EscapeDataString(Password)}";
            var sentAt = clock.Elapsed;
            try
            {
                using var response = await http.GetAsync(path, CancellationToken.None);
                var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                var took = clock.Elapsed - sentAt;
                lock (answers)
                {
                    answers.Add(new Answer(instance, action, sentAt, took, (int)response.StatusCode, body, body.StartsWith("""{"success":true""", StringComparison.Ordinal)));
                }
            }
            catch (HttpRequestException exception)
            {
                lock (answers)
                {
                    answers.Add(new Answer(instance, action, sentAt, clock.Elapsed - sentAt, 0, exception.Message, false));
                }
            }
            catch (TaskCanceledException)
            {
                lock (answers)
                {
                    answers.Add(new Answer(instance, action, sentAt, clock.Elapsed - sentAt, 0, "no answer within 15 s", false));
                }
            }

            try
            {
                await Task.Delay(10, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task<bool> IsRefused(Task<ContractBody> validation) => (await validation).Error == "Invalid token";

    /// <summary>How long until <paramref name="condition"/> holds, asked as fast as one request at a time allows.</summary>
    private static async Task<TimeSpan> LagUntilAsync(Stopwatch since, Func<Task<bool>> condition)
    {
        while (!await condition())
        {
            Assert.True(since.Elapsed < TimeSpan.FromSeconds(10), "not honoured within 10 s");
        }

        return since.Elapsed;
    }

    private static void Report(string line)
    {
        TestContext.Current.SendDiagnosticMessage(line);
        TestContext.Current.TestOutputHelper?.WriteLine(line);
    }

    private static List<(TimeSpan Start, TimeSpan End, int Purged)> SweepRounds(string output)
    {
        var rounds = new List<(TimeSpan, TimeSpan, int)>();
        TimeSpan? start = null;
        foreach (Match line in SweepLine().Matches(output))
        {
            var at = TimeSpan.ParseExact(line.Groups["at"].Value, @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture);
            if (line.Groups["purged"].Success)
            {
                if (start is { } began)
                {
                    rounds.Add((began, at, int.Parse(line.Groups["purged"].Value, CultureInfo.InvariantCulture)));
                }

                start = null;
            }
            else
            {
                start = at;
            }
        }

        return rounds;
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT(?<at>\d\d:\d\d:\d\d\.\d\d\d)Z dbug: TokenGate\.Server\.Maintenance\.ExpiredTokenSweeper\[\d+\] (?:Sweeping expired tokens|Sweep finished: purged (?<purged>\d+) tokens)", RegexOptions.Multiline)]
    private static partial Regex SweepLine();

    private sealed record Answer(int Instance, string Action, TimeSpan SentAt, TimeSpan Took, int Status, string Body, bool Success);

    /// <summary>Two tokengate serve processes on one new database of the run's cluster, sharing one key file.</summary>
    private sealed class TwoInstances : IAsyncDisposable
    {
        private static readonly Regex Listening = new(@"Now listening on: (http://127\.0\.0\.1:\d+)");
        private readonly TempDirectory _directory;
        private readonly Uri[] _addresses;
        private readonly HttpClient[] _clients;

        private TwoInstances(PostgresCluster postgres, string database, TempDirectory directory, TokenGateProcess[] instances, Uri[] addresses)
        {
            Postgres = postgres;
            Database = database;
            _directory = directory;
            Instances = instances;
            _addresses = addresses;
            _clients = [.. addresses.Select(address => LoopbackClient.Create(address))];
        }

        public PostgresCluster Postgres { get; }

        public string Database { get; }

        public TokenGateProcess[] Instances { get; }

        public string ConnectionString => Postgres.ConnectionString(Database);

        public static async Task<TwoInstances> StartAsync(PostgresFixture fixture, IReadOnlyDictionary<string, string>? environment = null)
        {
            var (postgres, database, connectionString) = await fixture.CreateDatabaseAsync("cluster");
            var directory = new TempDirectory("tokengate-cluster");
            var keyFile = directory.File("tokengate.key");
            SealingKey.LoadOrCreate(keyFile);
            var settings = new Dictionary<string, string>
            {
                ["TOKENGATE_PASSWORD_HASH_ITERATIONS"] = "1000",
                ["TOKENGATE_LOGIN_THROTTLE"] = "false",
            };
            foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            {
                settings[name] = value;
            }

            // Both start at once on a new database: the migration runs once, under its lock.
            string[] args = ["serve", "--urls", "http://127.0.0.1:0", "--database", connectionString, "--key-file", keyFile];
            var instances = new[] { TokenGateProcess.Start(directory.Path, settings, args), TokenGateProcess.Start(directory.Path, settings, args) };
            try
            {
                var addresses = new Uri[2];
                for (var i = 0; i < 2; i++)
                {
                    addresses[i] = new Uri((await instances[i].WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60))).Groups[1].Value + "/");
                    Assert.Contains($"TokenGate is using the PostgreSQL database 127.0.0.1:{postgres.Port}/{database} and the key file {keyFile}", instances[i].Output, StringComparison.Ordinal);
                }

                return new TwoInstances(postgres, database, directory, instances, addresses);
            }
            catch
            {
                foreach (var instance in instances)
                {
                    instance.Dispose();
                }

                directory.Dispose();
                throw;
            }
        }

        public Uri BaseAddress(int instance) => _addresses[instance];

        public TokenApiClient Api(int instance) => new(_clients[instance]);

        /// <summary>Runs an operator command (the real CLI code, in this process) against the cluster's database.</summary>
        public async Task CliAsync(params string[] args)
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var exit = await TokenGateCli.InvokeAsync([.. args, "--database", ConnectionString], output, error, TextReader.Null, Cancel);
            Assert.True(exit == 0, $"tokengate {string.Join(' ', args)} exited {exit}: {error}");
            Assert.DoesNotContain(Postgres.Password, output + error.ToString(), StringComparison.Ordinal);
        }

        public Task AddAccountAsync(string name, string password) => CliAsync("account", "add", name, "--password", password);

        /// <summary>A token of alice for <paramref name="addresses"/>, got from the first instance and validated on both, so that
        /// both have it cached.</summary>
        public async Task<string> WarmTokenAsync(string addresses, string password = Password)
        {
            var issued = await Api(0).GetTokenAsync("alice", password, addresses);
            Assert.True(issued.Success, issued.Error);
            for (var round = 0; round < 2; round++)
            {
                Assert.True((await Api(0).ValidateAsync(issued.Token!)).Success);
                Assert.True((await Api(1).ValidateAsync(issued.Token!)).Success);
            }

            return issued.Token!;
        }

        public Task Sql(string sql) => Postgres.ExecuteAsync(Database, sql);

        public Task<T> ScalarAsync<T>(string sql) => Postgres.ScalarAsync<T>(Database, sql);

        /// <summary>No instance wrote the database password, an error or an unexpected failure.</summary>
        public void AssertLogsAreClean()
        {
            foreach (var instance in Instances)
            {
                Assert.DoesNotContain(Postgres.Password, instance.Output + instance.Error, StringComparison.Ordinal);
                Assert.DoesNotContain("fail:", instance.Output, StringComparison.Ordinal);
                Assert.DoesNotContain("Unexpected error", instance.Output, StringComparison.Ordinal);
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }

            foreach (var instance in Instances)
            {
                try
                {
                    await instance.TerminateAsync(TimeSpan.FromSeconds(15));
                }
                finally
                {
                    instance.Dispose();
                }
            }

            _directory.Dispose();
        }
    }
}
