using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Accounts;
using TokenGate.Server.Security;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// Password hashing behind the bounded queue (issue 25, item 2): a wrong-password flood from many addresses, over real HTTP, never
/// runs more than <c>PasswordHashConcurrency</c> PBKDF2 checks at once; the overflow is answered 503 (or 429 for the one
/// address that floods with wrong passwords) with the contract body and <c>Retry-After</c>; valid concurrent logins from one
/// address all wait their turn and are served; <c>validate</c> from another address keeps answering.
/// The login throttle is off (the tests' default), so every attempt reaches the queue: the worst case.
/// </summary>
public sealed class PasswordHashingQueueTests
{
    [Fact]
    public async Task A_flood_from_sixty_four_addresses_never_runs_more_than_the_configured_number_of_password_checks_at_once()
    {
        var hasher = new CountingHasher(new IdentityPasswordHasher(20_000));
        await using var server = await TokenGateTestServer.StartAsync(
            new Dictionary<string, string?> { ["PasswordHashConcurrency"] = "2", ["PasswordHashWait"] = "30s" },
            customize: services => services.AddSingleton<IPasswordHasher>(hasher));
        await server.CreateAccountAsync("target", "the real password");
        hasher.Reset();

        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(async i =>
        {
            using var http = server.CreateClient(IPAddress.Parse($"127.0.25.{i + 1}"));
            return await new TokenApiClient(http, mode: SendMode.PostForm).SendAsync(("action", "get"), ("username", "target"), ("password", $"guess {i}"));
        }));

        Report($"64 concurrent wrong passwords from 64 addresses: {hasher.Checks} checks, at most {hasher.MaxConcurrent} at once");
        Assert.All(answers, a => Assert.Equal("Authentication failure", a.Body.Error));
        Assert.Equal(64, hasher.Checks);
        Assert.Equal(2, hasher.MaxConcurrent);
    }

    [Fact]
    public async Task When_no_turn_comes_in_time_the_answer_is_503_service_unavailable_with_retry_after_and_the_contract_body()
    {
        var hasher = new CountingHasher(new IdentityPasswordHasher(TokenGateTestServer.FastHashIterations), delay: TimeSpan.FromMilliseconds(300));
        await using var server = await TokenGateTestServer.StartAsync(
            new Dictionary<string, string?> { ["PasswordHashConcurrency"] = "1", ["PasswordHashWait"] = "100ms" },
            customize: services => services.AddSingleton<IPasswordHasher>(hasher));
        await server.CreateAccountAsync("target", "the real password");
        hasher.Reset();

        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            using var http = server.CreateClient(IPAddress.Parse($"127.0.25.{i + 100}"));
            return await new TokenApiClient(http, mode: SendMode.PostForm).SendAsync(("action", "get"), ("username", "target"), ("password", $"guess {i}"));
        }));

        var busy = answers.Where(a => a.Response.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
        Report($"16 concurrent checks, one slot, 100 ms wait, 300 ms per check: {busy.Count} answered 503");
        Assert.NotEmpty(busy);
        Assert.All(busy, a => Assert.Equal("Service unavailable", a.Body.Error));
        Assert.All(busy, a => Assert.Equal(TimeSpan.FromSeconds(1), a.Response.Headers.RetryAfter?.Delta));
        Assert.All(answers.Except(busy), a => Assert.Equal("Authentication failure", a.Body.Error));
        Assert.Equal(1, hasher.MaxConcurrent);
        Assert.Equal(16 - busy.Count, hasher.Checks);
    }

    [Fact]
    public async Task Sixty_four_concurrent_valid_logins_from_one_address_with_one_turn_are_all_served_none_refused()
    {
        // One central application server getting tokens for many machines at once: one source address, every password right.
        // Each check takes 5 ms, so 64 of them one at a time fit in the default wait of a second.
        var hasher = new CountingHasher(new IdentityPasswordHasher(TokenGateTestServer.FastHashIterations), delay: TimeSpan.FromMilliseconds(5));
        await using var server = await TokenGateTestServer.StartAsync(
            new Dictionary<string, string?> { ["PasswordHashConcurrency"] = "1" },
            customize: services => services.AddSingleton<IPasswordHasher>(hasher));
        for (var i = 0; i < 64; i++)
        {
            await server.CreateAccountAsync($"machine{i}", $"the password of machine {i}");
        }

        hasher.Reset();
        using var http = server.CreateClient(IPAddress.Parse("127.0.25.10"));
        var app = new TokenApiClient(http, mode: SendMode.PostForm);
        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(i =>
            app.SendAsync(("action", "get"), ("username", $"machine{i}"), ("password", $"the password of machine {i}"))));

        Report($"64 concurrent valid logins from one address, one turn: {answers.Count(a => a.Response.StatusCode == HttpStatusCode.OK)} 200, " +
            $"{hasher.Checks} checks, at most {hasher.MaxConcurrent} at once");
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Response.StatusCode));
        Assert.All(answers, a => Assert.Null(a.Body.Error));
        Assert.Equal(64, hasher.Checks);
        Assert.Equal(1, hasher.MaxConcurrent);
        Assert.Equal(0, server.App.Services.GetRequiredService<PasswordHashingQueue>().CallersHeld);
    }

    [Fact]
    public async Task The_address_that_floods_with_wrong_passwords_gets_429_while_another_address_logs_in_within_its_wait()
    {
        var hasher = new CountingHasher(new IdentityPasswordHasher(TokenGateTestServer.FastHashIterations), delay: TimeSpan.FromMilliseconds(50));
        await using var server = await TokenGateTestServer.StartAsync(
            new Dictionary<string, string?> { ["PasswordHashConcurrency"] = "2" },
            customize: services => services.AddSingleton<IPasswordHasher>(hasher));
        await server.CreateAccountAsync("target", "the real password");
        await server.CreateAccountAsync("user", "another real password");
        using var attackerHttp = server.CreateClient(IPAddress.Parse("127.0.25.250"));
        var attacker = new TokenApiClient(attackerHttp, mode: SendMode.PostForm);
        using var userHttp = server.CreateClient(IPAddress.Parse("127.0.25.251"));
        var user = new TokenApiClient(userHttp, mode: SendMode.PostForm);

        var flood = Task.WhenAll(Enumerable.Range(0, 300).Select(i => attacker.SendAsync(("action", "get"), ("username", "target"), ("password", $"guess {i}"))));
        await Task.Delay(200, TestContext.Current.CancellationToken);
        var started = Stopwatch.GetTimestamp();
        var login = await user.GetTokenAsync("user", "another real password");
        var loginTook = Stopwatch.GetElapsedTime(started);
        var answers = await flood;

        var refused = answers.Where(a => a.Response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Report($"300 concurrent wrong passwords from one address, 2 turns of 50 ms: {refused.Count} refused with 429, " +
            $"{answers.Count(a => a.Response.StatusCode == HttpStatusCode.ServiceUnavailable)} 503; the other address's login took {loginTook.TotalMilliseconds:0} ms");
        // Served at all means served within its wait (a second): beyond it the answer would have been 503.
        Assert.True(login.Success, login.Error);
        Assert.InRange(refused.Count, 150, 299);
        Assert.All(refused, a => Assert.Equal("Too many requests", a.Body.Error));
        Assert.All(refused, a => Assert.NotNull(a.Response.Headers.RetryAfter));
        Assert.All(answers.Except(refused), a => Assert.Equal("Authentication failure", a.Body.Error));
        Assert.Equal(0, server.App.Services.GetRequiredService<PasswordHashingQueue>().CallersHeld);
    }

    [Fact]
    public async Task Validate_from_another_address_keeps_answering_quickly_while_a_32_worker_wrong_password_flood_runs()
    {
        // Real PBKDF2 at a cost that keeps a core busy for tens of milliseconds per check, as in production.
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["PasswordHashIterations"] = "100000", ["PasswordHashConcurrency"] = "1", ["PasswordHashWait"] = "500ms",
        });
        await server.CreateAccountAsync("app", "the app password");
        using var appHttp = server.CreateClient(IPAddress.Parse("127.0.25.200"));
        var app = new TokenApiClient(appHttp);
        var token = await app.GetTokenAsync("app", "the app password");
        Assert.True(token.Success, token.Error);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        var flood = Task.WhenAll(Enumerable.Range(0, 32).Select(async worker =>
        {
            using var http = server.CreateClient(IPAddress.Parse($"127.0.26.{worker + 1}"));
            var attacker = new TokenApiClient(http, mode: SendMode.PostForm);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var (response, _) = await attacker.SendAsync(("action", "get"), ("username", "app"), ("password", $"guess {worker}-{i}"));
                statuses.Add(response.StatusCode);
            }
        }));

        await Task.Delay(500, TestContext.Current.CancellationToken);
        var latencies = new List<double>();
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            var validation = await app.ValidateAsync(token.Token!);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Assert.True(validation.Success, validation.Error);
        }

        await flood;
        latencies.Sort();
        var p50 = latencies[latencies.Count / 2];
        var p99 = latencies[(int)(latencies.Count * 0.99)];
        Report($"during the flood ({statuses.Count} wrong passwords: {statuses.Count(s => s == HttpStatusCode.OK)} checked, " +
            $"{statuses.Count(s => s == HttpStatusCode.ServiceUnavailable)} 503): {latencies.Count} validates, p50 {p50:0.0} ms, p99 {p99:0.0} ms");
        Assert.Contains(HttpStatusCode.ServiceUnavailable, statuses);
        Assert.True(latencies.Count >= 20, $"only {latencies.Count} validates answered in 3.5 s");
        Assert.True(p50 < 50, $"validate p50 {p50:0.0} ms during the flood");
    }

    [Fact]
    public async Task The_queue_itself_never_lets_more_than_its_concurrency_in_across_two_hundred_callers()
    {
        var queue = new PasswordHashingQueue(new PasswordOptions { HashConcurrency = 3, HashWait = TimeSpan.FromSeconds(30) });
        var inside = 0;
        var most = 0;

        await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            using (await queue.EnterAsync(IPAddress.Parse($"10.0.{i / 250}.{i % 250}"), CancellationToken.None))
            {
                var now = Interlocked.Increment(ref inside);
                InterlockedMax(ref most, now);
                await Task.Delay(2);
                Interlocked.Decrement(ref inside);
            }
        }));

        Assert.Equal(3, most);
        Assert.Equal(0, inside);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private static void Report(string figures) => TestContext.Current.TestOutputHelper?.WriteLine(figures);

    /// <summary>The real hasher, counting how many of its calls run at once (and, when asked, taking longer per call).</summary>
    private sealed class CountingHasher(IPasswordHasher inner, TimeSpan delay = default) : IPasswordHasher
    {
        private int _inside;
        private int _most;
        private int _checks;

        public int MaxConcurrent => Volatile.Read(ref _most);

        public int Checks => Volatile.Read(ref _checks);

        public void Reset()
        {
            Volatile.Write(ref _most, 0);
            Volatile.Write(ref _checks, 0);
        }

        public string Hash(string password) => Measure(() => inner.Hash(password));

        public PasswordVerification Verify(string hash, string password)
        {
            Interlocked.Increment(ref _checks);
            return Measure(() => inner.Verify(hash, password));
        }

        private TResult Measure<TResult>(Func<TResult> work)
        {
            InterlockedMax(ref _most, Interlocked.Increment(ref _inside));
            try
            {
                if (delay > TimeSpan.Zero)
                {
                    Thread.Sleep(delay);
                }

                return work();
            }
            finally
            {
                Interlocked.Decrement(ref _inside);
            }
        }
    }
}
