using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using TokenGate.Testing;

[assembly: AssemblyFixture(typeof(PostgresFixture))]

namespace TokenGate.Reliability.Tests;

/// <summary>
/// Issue 8.1: clients issue and validate tokens under load against <c>tokengate serve</c> processes that are killed with
/// SIGKILL at random (seeded) moments and restarted on the same database and key. Every token whose <c>get</c> was acknowledged
/// (a complete HTTP 200 with <c>success</c> true) must still validate at the end, with the same expiry; and no account may ever
/// be handed two different tokens for one address set while the first is unexpired — also across the crashes, which is what
/// the durability of the first one guarantees. On SQLite one process is killed; on PostgreSQL one of two instances is, while
/// the clients use both.
/// </summary>
public sealed class CrashDurabilityTests(PostgresFixture postgres)
{
    private const int Clients = 6;
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(15);

    private static ReliabilityProfile Profile => ReliabilityProfile.Current;

    [Fact(Timeout = ReliabilityProfile.TestTimeoutMilliseconds)]
    public async Task Sqlite_killed_at_random_moments_loses_no_acknowledged_token_and_never_hands_out_two_for_one_address_set()
    {
        await using var deployment = Deployment.Sqlite(Settings);
        var result = await RunAsync(deployment, instances: 1);

        // After a clean stop the file is whole: SQLite's own check of every page and index.
        await using (var connection = new SqliteConnection($"Data Source={deployment.Database};Mode=ReadOnly;Pooling=false"))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var check = connection.CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", (string?)await check.ExecuteScalarAsync(TestContext.Current.CancellationToken));
            check.CommandText = "SELECT count(*) FROM tokens";
            var stored = (long)(await check.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
            Assert.True(stored >= result.Checked, $"{stored} tokens in the file, {result.Checked} acknowledged");
        }
    }

    [Fact(Timeout = ReliabilityProfile.TestTimeoutMilliseconds)]
    public async Task Postgres_one_of_two_instances_killed_at_random_moments_loses_no_acknowledged_token_and_never_hands_out_two_for_one_address_set()
    {
        var (deployment, _) = await Deployment.PostgresAsync(postgres, Settings);
        await using (deployment)
        {
            await RunAsync(deployment, instances: 2);
        }
    }

    /// <summary>
    /// The seeds' own use case on PostgreSQL: one account (an application server) issuing for many address sets from many
    /// clients at once, so that the instances' batch writers commit many issues together; one of two instances is killed.
    /// </summary>
    [Fact(Timeout = ReliabilityProfile.TestTimeoutMilliseconds)]
    public async Task Postgres_one_account_issuing_in_batches_killed_at_random_moments_loses_no_acknowledged_token_and_never_hands_out_two_for_one_address_set()
    {
        var (deployment, _) = await Deployment.PostgresAsync(postgres, Settings);
        await using (deployment)
        {
            await RunAsync(deployment, instances: 2, clients: 16, sharedAccount: true);
        }
    }

    /// <summary>Each account may hold many tokens: every fresh address set is a new one.</summary>
    private static Dictionary<string, string> Settings => new() { ["TOKENGATE_MAX_ACTIVE_TOKENS_PER_ACCOUNT"] = "1000000" };

    private static async Task<(int Checked, int Kills)> RunAsync(Deployment deployment, int instances, int clients = Clients, bool sharedAccount = false)
    {
        var store = (instances == 1 ? "SQLite" : "PostgreSQL") + (sharedAccount ? $", one account, {clients} clients" : string.Empty);
        var crashClients = Enumerable.Range(0, clients).Select(i => new CrashClient(i, Profile.Seed, sharedAccount)).ToList();
        await deployment.AddAccountsAsync(crashClients.Select(c => (c.Account, c.Password)).Distinct());

        // Instance 0 is the one killed; on PostgreSQL instance 1 runs throughout.
        var served = new List<Served>();
        for (var i = 0; i < instances; i++)
        {
            served.Add(await deployment.StartAsync());
        }

        var targets = served.Select(s => new RestartingTarget(s.BaseAddress)).ToList();
        var ledger = new TokenLedger();
        var counters = new CrashCounters();
        using var stop = new CancellationTokenSource();
        var load = crashClients.Select(c => Task.Run(() => c.RunAsync(targets, ledger, counters, stop.Token), CancellationToken.None)).ToList();

        var random = new Random(Profile.Seed);
        var clock = Stopwatch.StartNew();
        var inFlightAtKill = new List<int>();
        var restartTimes = new List<TimeSpan>();
        var acknowledgedPerInstance = new List<int>();
        try
        {
            for (var kill = 1; kill <= Profile.Kills; kill++)
            {
                await targets[0].FirstAnswerAsync(TimeSpan.FromSeconds(15));
                var acknowledgedBefore = ledger.HandedOut;
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next((int)Profile.MinLoadBeforeKill.TotalMilliseconds, (int)Profile.MaxLoadBeforeKill.TotalMilliseconds)), CancellationToken.None);
                Assert.True(ledger.Violations.Count == 0, Describe(ledger, deployment));
                inFlightAtKill.Add(counters.InFlight);
                acknowledgedPerInstance.Add(ledger.HandedOut - acknowledgedBefore);
                await served[0].Process.KillAsync();
                Assert.Equal(137, served[0].Process.ExitCode);

                var restart = Stopwatch.StartNew();
                served[0] = await deployment.StartAsync();
                restartTimes.Add(restart.Elapsed);
                targets[0].Publish(served[0].BaseAddress);
            }

            // The last instance serves for a while too, so that the check below also covers what it issued.
            await Task.Delay(Profile.MaxLoadBeforeKill, CancellationToken.None);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        var loadTime = clock.Elapsed;

        // Every acknowledged token, validated on every instance from 127.0.0.1 (every address set holds it).
        var tokens = ledger.Tokens;
        var lost = 0;
        var checks = 0;
        foreach (var instance in served)
        {
            using var http = LoopbackClient.Create(instance.BaseAddress, timeout: ClientTimeout);
            lost += await ledger.CountLostAsync(http, instance.BaseAddress, CancellationToken.None);
            checks += tokens.Count;
        }

        foreach (var instance in served)
        {
            Assert.Equal(0, await instance.Process.TerminateAsync(TimeSpan.FromSeconds(30)));
        }

        // Every acknowledged token's issue has its audit entry, committed with it (issue 15): exactly one, whatever was killed.
        var issuedIds = (await deployment.IssuedTokenIdsAsync()).CountBy(id => id ?? string.Empty).ToDictionary();
        var unaudited = tokens.Count(t => issuedIds.GetValueOrDefault(Tokens.TokenValue.IdOf(Tokens.TokenValue.ComputeDigest(t.Token))) != 1);

        Figures.Report(
            $"Crash durability ({store}{(instances == 2 ? ", one of two instances killed" : string.Empty)})",
            $"{Profile.Kills} SIGKILLs after {Figures.Milliseconds(Profile.MinLoadBeforeKill)}–{Figures.Milliseconds(Profile.MaxLoadBeforeKill)} of load each, "
            + $"{loadTime.TotalSeconds:F0} s in all; {clients} clients sent {counters.Sent:N0} requests: {ledger.HandedOut:N0} gets acknowledged "
            + $"({tokens.Count:N0} distinct tokens), {counters.Validations:N0} validations of acknowledged tokens during the run, "
            + $"{counters.Unanswered:N0} requests cut off or refused by the kills; requests in flight at each kill: min {inFlightAtKill.Min()}, "
            + $"median {inFlightAtKill.Order().ElementAt(inFlightAtKill.Count / 2)}, max {inFlightAtKill.Max()}; gets acknowledged per killed instance: "
            + $"min {acknowledgedPerInstance.Min()}, max {acknowledgedPerInstance.Max()}; restart to listening: median "
            + $"{Figures.Milliseconds(Figures.Percentile(restartTimes, 0.5))}, max {Figures.Milliseconds(restartTimes.Max())}; "
            + $"tokens checked at the end: {checks:N0} ({tokens.Count:N0} × {served.Count} instance(s)); lost = {lost}; "
            + $"two tokens for one address set = {ledger.Violations.Count(v => v.Contains("was unexpired", StringComparison.Ordinal))}; "
            + $"acknowledged tokens without exactly one 'issued' audit entry = {unaudited}; "
            + $"other violations = {ledger.Violations.Count(v => !v.Contains("was unexpired", StringComparison.Ordinal) && !v.StartsWith("LOST", StringComparison.Ordinal))}.");

        Assert.True(ledger.Violations.Count == 0, Describe(ledger, deployment));
        Assert.True(unaudited == 0, $"{unaudited} of {tokens.Count} acknowledged tokens have no single 'issued' audit entry");
        Assert.True(tokens.Count >= Profile.Kills * 5, $"only {tokens.Count} tokens were issued: the load did not reach the server");
        Assert.True(acknowledgedPerInstance.Count(n => n > 0) >= Profile.Kills / 2, $"most instances were killed before they acknowledged anything: {string.Join(", ", acknowledgedPerInstance)}");
        Assert.True(inFlightAtKill.Count(n => n > 0) >= Profile.Kills / 2, $"most kills found no request in flight: {string.Join(", ", inFlightAtKill)}");
        return (tokens.Count, Profile.Kills);
    }

    private static string Describe(TokenLedger ledger, Deployment deployment) =>
        $"{ledger.Violations.Count} violation(s):\n{string.Join("\n", ledger.Violations.Take(20))}\n\nserver logs:\n{Tail(deployment.Logs(), 6000)}";

    private static string Tail(string text, int length) => text.Length <= length ? text : "…" + text[^length..];

    /// <summary>What the clients did, counted across them.</summary>
    private sealed class CrashCounters
    {
        private int _sent;
        private int _unanswered;
        private int _validations;
        private int _inFlight;
        private int _inFlightOnKilled;

        public int Sent => Volatile.Read(ref _sent);

        public int Unanswered => Volatile.Read(ref _unanswered);

        public int Validations => Volatile.Read(ref _validations);

        /// <summary>Requests sent to the instance that is killed and not answered yet.</summary>
        public int InFlight => Volatile.Read(ref _inFlightOnKilled);

        public void Start(bool toKilled)
        {
            Interlocked.Increment(ref _sent);
            Interlocked.Increment(ref toKilled ? ref _inFlightOnKilled : ref _inFlight);
        }

        public void End(bool toKilled, Answer answer)
        {
            Interlocked.Decrement(ref toKilled ? ref _inFlightOnKilled : ref _inFlight);
            if (!answer.Responded)
            {
                Interlocked.Increment(ref _unanswered);
            }
        }

        public void Validated() => Interlocked.Increment(ref _validations);
    }

    /// <summary>
    /// One client with its own account (or, <paramref name="sharedAccount"/>, the one account all clients share): gets for three
    /// fixed address sets (each spelled in varying order and spacing, which must not matter; the first, 127.0.0.1 alone, is
    /// asked for by every client of a shared account), gets for a fresh address set each time (a new token: a write), and
    /// validations of tokens it was handed.
    /// </summary>
    private sealed class CrashClient(int index, int seed, bool sharedAccount = false)
    {
        private readonly Random _random = new(seed + index + 1);
        private readonly List<Issued> _mine = [];
        private int _fresh;

        public string Account => sharedAccount ? "crash-shared" : $"crash{index}";

        public string Password => sharedAccount ? "crash shared account password" : $"crash client {index} password";

        public async Task RunAsync(IReadOnlyList<RestartingTarget> targets, TokenLedger ledger, CrashCounters counters, CancellationToken stop)
        {
            using var http = LoopbackClient.Create(targets[0].Current.Address, timeout: ClientTimeout);
            while (!stop.IsCancellationRequested)
            {
                var instance = _random.Next(targets.Count);
                var target = targets[instance];
                var toKilled = instance == 0;
                var (address, generation) = target.Current;
                var roll = _random.Next(100);
                counters.Start(toKilled);
                Answer answer;
                if (roll < 15 && _mine.Count > 0)
                {
                    var issued = _mine[_random.Next(_mine.Count)];
                    answer = await TokenCalls.ValidateAsync(http, address, issued.Token, cancellationToken: CancellationToken.None);
                    counters.End(toKilled, answer);
                    if (answer.Responded)
                    {
                        counters.Validated();
                        if (!answer.Acknowledged || answer.Contract!.Expire != issued.Expire)
                        {
                            ledger.Violation($"{(answer.Contract?.Error == "Invalid token" ? "LOST" : "validate")}: {TokenLedger.Id(issued.Token)} of {Account} [{issued.AddressSet}] answered {answer} on generation {generation}");
                        }
                    }
                }
                else
                {
                    var set = roll < 55 ? FixedSet(_random.Next(3)) : FreshSet(_fresh++);
                    var key = string.Join(',', set.Order(StringComparer.Ordinal));
                    answer = await TokenCalls.GetAsync(http, address, Account, Password, Spell(set), cancellationToken: CancellationToken.None);
                    counters.End(toKilled, answer);
                    if (answer.Acknowledged && answer.Contract is { Token: { Length: 40 } token, Expire: { } expire })
                    {
                        ledger.Acknowledge(Account, key, token, expire, $"generation {generation} of instance {instance + 1}");
                        if (!_mine.Any(m => m.Token == token))
                        {
                            _mine.Add(new Issued(Account, key, token, expire));
                        }
                    }
                    else if (answer.Responded)
                    {
                        ledger.Violation($"get for {Account} [{key}] answered {answer} on generation {generation}");
                    }
                }

                if (answer.Responded)
                {
                    target.Answered(generation);
                }
                else
                {
                    await target.WaitBeyondAsync(generation, TimeSpan.FromMilliseconds(100));
                }
            }
        }

        /// <summary>Every set holds 127.0.0.1, where the clients and the final check call from.</summary>
        private string[] FixedSet(int which) => which switch
        {
            0 => ["127.0.0.1"],
            1 => ["127.0.0.1", $"10.{index}.0.1"],
            _ => ["127.0.0.1", $"10.{index}.0.2", $"2001:db8::{index + 1:x}"],
        };

        private string[] FreshSet(int n) =>
            n % 3 == 2
                ? ["127.0.0.1", string.Create(CultureInfo.InvariantCulture, $"2001:db8:{index + 1:x}::{n + 1:x}")]
                : ["127.0.0.1", string.Create(CultureInfo.InvariantCulture, $"10.{100 + index}.{n / 250 % 250}.{n % 250 + 1}")];

        /// <summary>The same set in a random order, with or without spaces after the commas.</summary>
        private string Spell(string[] set) => string.Join(_random.Next(2) == 0 ? "," : ", ", set.OrderBy(_ => _random.Next()));
    }
}
