using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Accounts;
using TokenGate.Server.Security;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// The guessing defences against a capable attacker: hundreds of concurrent attempts, many source addresses (every address in
/// 127.0.0.0/8 is a real client address here), IPv6 callers behind a trusted proxy. Delays are kept short so that what holds
/// the line is the count of attempts in flight, not the time they wait. The limits are the defaults: 20 per (username,
/// address), 100 per address, 100 per username from unfamiliar addresses.
/// </summary>
public sealed class GuessingDefenceTests
{
    private static readonly Dictionary<string, string?> Defaults = new()
    {
        ["LoginThrottle"] = "true",
        ["LoginMaxDelay"] = "20ms",
    };

    /// <summary>Behind a trusted proxy on 127.0.0.1, whose X-Forwarded-For names the caller (an IPv6 one, too).</summary>
    private static readonly Dictionary<string, string?> BehindProxy = new(Defaults) { ["TrustedProxy"] = "127.0.0.1" };

    [Fact]
    public async Task Four_hundred_concurrent_wrong_passwords_for_one_username_from_one_address_reach_at_most_twenty_password_checks()
    {
        await using var server = await TokenGateTestServer.StartAsync(Defaults);
        await server.CreateAccountAsync("target", "the real password");
        using var http = server.CreateClient(IPAddress.Parse("127.0.2.1"));
        var attacker = new TokenApiClient(http, mode: SendMode.PostForm);

        var answers = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => attacker.SendAsync(("action", "get"), ("username", "target"), ("password", $"guess {i}"))));

        var checkedCount = answers.Count(a => a.Body.Error == "Authentication failure");
        var refused = answers.Where(a => a.Response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Report($"400 concurrent wrong passwords, one username, one address: {checkedCount} checked, {refused.Count} refused with 429");
        Assert.InRange(checkedCount, 1, 20);
        Assert.Equal(400 - checkedCount, refused.Count);
        Assert.All(refused, a => Assert.Equal("Too many requests", a.Body.Error));
        Assert.All(refused, a => Assert.NotNull(a.Response.Headers.RetryAfter));
        Assert.Equal(checkedCount, server.Metrics.AuthenticationFailures);
        Assert.Equal(refused.Count, server.Metrics.RateLimited("get"));
    }

    [Fact]
    public async Task Identical_concurrent_attempts_share_one_check_but_each_429_moves_the_rate_limited_metric()
    {
        await using var server = await TokenGateTestServer.StartAsync(Defaults);
        await server.CreateAccountAsync("joined", "the real password");
        var attacker = new TokenApiClient(server.CreateClient(IPAddress.Parse("127.0.2.5")), mode: SendMode.PostForm);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("Authentication failure", (await attacker.GetTokenAsync("joined", $"guess {i}")).Error);
        }

        // The same username, password and address at once are one attempt (single flight): refused once, answered 429 a hundred times.
        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => attacker.SendAsync(("action", "get"), ("username", "joined"), ("password", "one more guess"))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.TooManyRequests, a.Response.StatusCode));
        Assert.Equal(100, server.Metrics.RateLimited("get"));
        Assert.Equal(20, server.Metrics.AuthenticationFailures);
    }

    [Fact]
    public async Task Identical_concurrent_wrong_passwords_share_one_check_and_every_failure_answered_moves_the_failure_metric()
    {
        // Each password check takes 300 ms, so requests sent together join the first one's check rather than run their own.
        await using var server = await TokenGateTestServer.StartAsync(
            Defaults, customize: services => services.AddSingleton<IPasswordHasher>(new SlowVerification(TimeSpan.FromMilliseconds(300))));
        await server.CreateAccountAsync("shared", "the real password");
        var client = new TokenApiClient(server.CreateClient(IPAddress.Parse("127.0.2.6")), mode: SendMode.PostForm);

        // Fifty at once: more than the 20 checks the throttle lets through, so every one answered was a check shared.
        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.GetTokenAsync("shared", "one wrong guess")));

        Assert.All(answers, a => Assert.Equal("Authentication failure", a.Error));
        Assert.Equal(50, server.Metrics.AuthenticationFailures);
    }

    [Fact]
    public async Task Four_hundred_concurrent_logins_with_the_right_password_all_get_the_token_none_is_taken_for_a_guess()
    {
        await using var server = await TokenGateTestServer.StartAsync(Defaults);
        await server.CreateAccountAsync("busy", "the real password");
        var client = new TokenApiClient(server.CreateClient(IPAddress.Parse("127.0.2.4")), mode: SendMode.PostForm);

        // A cold start: nothing remembered, every request arrives at once (Keycloak's fix for parallel guessing refused these).
        var answers = await Task.WhenAll(Enumerable.Range(0, 400).Select(_ => client.GetTokenAsync("busy", "the real password")));

        Assert.All(answers, a => Assert.True(a.Success, a.Error));
        Assert.Single(answers.Select(a => a.Token).Distinct());
        Assert.Equal(0, server.Metrics.AuthenticationFailures);
    }

    [Fact]
    public async Task Two_hundred_concurrent_newpass_calls_with_guessed_tokens_are_answered_at_most_twenty_times()
    {
        await using var server = await TokenGateTestServer.StartAsync(Defaults);
        var attacker = new TokenApiClient(server.CreateClient(IPAddress.Parse("127.0.2.2")), mode: SendMode.PostForm);

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ =>
            attacker.SendAsync(("action", "newpass"), ("token", RandomNumberGenerator.GetHexString(40, lowercase: true)), ("password", "a brand new password"))));

        var answered = answers.Count(a => a.Body.Error == "Invalid token");
        Report($"200 concurrent newpass with guessed tokens, one address: {answered} answered");
        Assert.InRange(answered, 1, 20);
        Assert.Equal(200 - answered, answers.Count(a => a.Response.StatusCode == HttpStatusCode.TooManyRequests));
        Assert.Equal(200 - answered, server.Metrics.RateLimited("newpass"));
    }

    /// <summary>
    /// Every OAuth2 endpoint authenticates its client through the same gate: at most <c>LOGIN_BLOCK_AFTER</c> (20, +0) secrets of
    /// one client id from one address are checked whatever the concurrency, and <c>tokengate.rate_limited</c> counts each 429.
    /// </summary>
    [Theory]
    [InlineData("token")]
    [InlineData("introspect")]
    [InlineData("revoke")]
    public async Task Two_hundred_concurrent_oauth2_client_authentications_with_wrong_secrets_are_checked_at_most_twenty_times(string endpoint)
    {
        await using var server = await TokenGateTestServer.StartAsync(Defaults);
        await server.CreateAccountAsync("service", "the service secret");
        using var http = server.CreateClient(IPAddress.Parse("127.0.2.3"));

        // One form for the three endpoints: /oauth2/revoke refuses a request without a token before it authenticates the client.
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["token"] = new string('a', 40) };
        var statuses = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"oauth2/{endpoint}") { Content = new FormUrlEncodedContent(form) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"service:wrong{i}")));
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }));

        var checkedCount = statuses.Count(s => s == HttpStatusCode.Unauthorized);
        var refused = statuses.Count(s => s == HttpStatusCode.TooManyRequests);
        Report($"200 concurrent OAuth2 client authentications with wrong secrets on /oauth2/{endpoint}, one address: {checkedCount} checked");
        Assert.InRange(checkedCount, 1, 20);
        Assert.Equal(200 - checkedCount, refused);
        Assert.Equal(checkedCount, server.Metrics.AuthenticationFailures);
        Assert.Equal(refused, server.Metrics.RateLimited(endpoint));
    }

    [Fact]
    public async Task One_username_attacked_from_two_hundred_addresses_is_checked_at_most_a_hundred_times_while_its_familiar_address_keeps_getting_tokens()
    {
        await using var server = await TokenGateTestServer.StartAsync(Defaults);
        await server.CreateAccountAsync("victim", "the real password");

        // The real user's server has logged in from its fixed address before the attack: that address is familiar.
        var realUser = new TokenApiClient(server.CreateClient(IPAddress.Parse("127.0.3.1")), mode: SendMode.PostForm);
        Assert.True((await realUser.GetTokenAsync("victim", "the real password")).Success);

        var attackers = Enumerable.Range(1, 200).Select(i => new TokenApiClient(server.CreateClient(IPAddress.Parse($"127.0.4.{i}")), mode: SendMode.PostForm)).ToList();
        var realDurations = new List<TimeSpan>();
        var attack = Task.WhenAll(attackers.SelectMany(attacker => Enumerable.Range(0, 2).Select(round =>
            attacker.SendAsync(("action", "get"), ("username", "victim"), ("password", $"spray {round} {RandomNumberGenerator.GetHexString(8)}")))));
        while (!attack.IsCompleted)
        {
            var watch = Stopwatch.StartNew();
            var real = await realUser.GetTokenAsync("victim", "the real password");
            realDurations.Add(watch.Elapsed);
            Assert.True(real.Success, real.Error);
        }

        var answers = await attack;
        var checkedCount = answers.Count(a => a.Body.Error == "Authentication failure");
        Report($"one username from 200 addresses, 400 tries: {checkedCount} checked; the familiar address got {realDurations.Count} tokens meanwhile, slowest {realDurations.Max().TotalMilliseconds:0} ms");
        Assert.InRange(checkedCount, 1, 100);
        Assert.Equal(400 - checkedCount, answers.Count(a => a.Response.StatusCode == HttpStatusCode.TooManyRequests));
        Assert.All(realDurations, d => Assert.True(d < TimeSpan.FromSeconds(1), $"the real user waited {d}"));

        // After the attack the familiar address still gets tokens at once; an address the account never used is refused even with
        // the right password (it cannot be told apart from the attacker), as is the same flood's next guess.
        var watchAfter = Stopwatch.StartNew();
        Assert.True((await realUser.GetTokenAsync("victim", "the real password")).Success);
        Assert.True(watchAfter.Elapsed < TimeSpan.FromSeconds(1));
        var stranger = new TokenApiClient(server.CreateClient(IPAddress.Parse("127.0.5.1")), mode: SendMode.PostForm);
        var (strangerResponse, strangerBody) = await stranger.SendAsync(("action", "get"), ("username", "victim"), ("password", "the real password"));
        Assert.Equal((HttpStatusCode.TooManyRequests, "Too many requests"), (strangerResponse.StatusCode, strangerBody.Error));
    }

    [Fact]
    public async Task A_username_that_does_not_exist_is_counted_and_refused_exactly_like_one_that_does()
    {
        await using var server = await TokenGateTestServer.StartAsync(Defaults);
        await server.CreateAccountAsync("exists", "its password is long");

        var known = await SprayAsync(server, "exists", 6);
        var unknown = await SprayAsync(server, "does-not-exist", 7);

        Assert.Equal((100, 20), known);
        Assert.Equal(known, unknown);
    }

    [Fact]
    public async Task An_address_bound_to_a_live_token_of_the_account_still_gets_its_token_while_the_account_limit_refuses_unfamiliar_addresses()
    {
        await using var server = await TokenGateTestServer.StartAsync(Defaults);
        await server.CreateAccountAsync("central", "the real password");

        // A central server (127.0.3.2, familiar) gets tokens for two machines by the address argument. The machines never logged
        // in themselves, so neither is familiar; one of the tokens is deleted before the attack.
        var central = new TokenApiClient(server.CreateClient(IPAddress.Parse("127.0.3.2")), mode: SendMode.PostForm);
        var live = await central.GetTokenAsync("central", "the real password", "127.0.3.10");
        var deleted = await central.GetTokenAsync("central", "the real password", "127.0.3.11");
        Assert.True(live.Success && deleted.Success);
        var retired = new TokenApiClient(server.CreateClient(IPAddress.Parse("127.0.3.11")), mode: SendMode.PostForm);
        Assert.True((await retired.DeleteAsync(deleted.Token!)).Success);

        // 120 unfamiliar addresses: 100 checked, then the username is refused from every address it does not know.
        Assert.Equal((100, 20), await SprayAsync(server, "central", 8));
        var stranger = new TokenApiClient(server.CreateClient(IPAddress.Parse("127.0.5.2")), mode: SendMode.PostForm);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await stranger.SendAsync(("action", "get"), ("username", "central"), ("password", "the real password"))).Response.StatusCode);

        // The machine bound to a live token is let through to the password check (a wrong guess is checked, not refused) and,
        // with the right password, gets that same token. The machine whose token was deleted is a stranger again.
        var machine = new TokenApiClient(server.CreateClient(IPAddress.Parse("127.0.3.10")), mode: SendMode.PostForm);
        Assert.Equal("Authentication failure", (await machine.GetTokenAsync("central", "a wrong guess")).Error);
        var own = await machine.GetTokenAsync("central", "the real password");
        Assert.True(own.Success, own.Error);
        Assert.Equal(live.Token, own.Token);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await retired.SendAsync(("action", "get"), ("username", "central"), ("password", "the real password"))).Response.StatusCode);
    }

    /// <summary>
    /// The same wrong password for <paramref name="username"/> once from each of <paramref name="addresses"/> addresses of
    /// 127.0.<paramref name="subnet"/>.0/24, all at once: how many were checked (Authentication failure), how many refused (429).
    /// </summary>
    private static async Task<(int Checked, int Refused)> SprayAsync(TokenGateTestServer server, string username, int subnet, int addresses = 120)
    {
        var clients = Enumerable.Range(1, addresses).Select(i => new TokenApiClient(server.CreateClient(IPAddress.Parse($"127.0.{subnet}.{i}")), mode: SendMode.PostForm)).ToList();
        var answers = await Task.WhenAll(clients.Select(client => client.SendAsync(("action", "get"), ("username", username), ("password", "a wrong guess"))));
        return (answers.Count(a => a.Body.Error == "Authentication failure"), answers.Count(a => a.Response.StatusCode == HttpStatusCode.TooManyRequests));
    }

    private static void Report(string figures) => TestContext.Current.TestOutputHelper?.WriteLine(figures);

    [Fact]
    public async Task Ipv6_callers_are_counted_by_their_64_bit_prefix_so_one_host_cannot_rotate_through_its_addresses()
    {
        await using var server = await TokenGateTestServer.StartAsync(BehindProxy);
        await server.CreateAccountAsync("ipv6-target", "the real password");
        using var http = server.CreateClient(IPAddress.Parse("127.0.0.1"));
        Task<HttpStatusCode> TryAsync(string forwardedFor, string password) => ForwardedGetAsync(http, forwardedFor, "ipv6-target", password);

        // 30 guesses, each from another address of one /64.
        var statuses = new List<HttpStatusCode>();
        for (var i = 1; i <= 30; i++)
        {
            statuses.Add(await TryAsync($"2001:db8:1:2::{i:x}", "a wrong guess"));
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.OK, 20), statuses.Take(20));
        Assert.All(statuses.Skip(20), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, await TryAsync("2001:db8:1:2:ffff:ffff:ffff:ffff", "the real password"));
        Assert.Equal(HttpStatusCode.OK, await TryAsync("2001:db8:1:3::1", "the real password"));
    }

    /// <summary>
    /// A caller seen as IPv4-mapped IPv6 (<c>::ffff:127.0.9.1</c>: a dual-stack listener, or a proxy that writes it so) is the
    /// IPv4 caller it maps: failures from both forms add up in one (username, address) counter. Loopback connections to an IPv4
    /// listener never arrive mapped, so the mapped form comes through a trusted proxy's <c>X-Forwarded-For</c>.
    /// </summary>
    [Fact]
    public async Task Ipv4_mapped_ipv6_callers_share_one_count_with_their_ipv4_address()
    {
        await using var server = await TokenGateTestServer.StartAsync(BehindProxy);
        await server.CreateAccountAsync("mapped-target", "the real password");
        using var http = server.CreateClient(IPAddress.Parse("127.0.0.1"));
        string[] forms = ["127.0.9.1", "::ffff:127.0.9.1"];

        // 20 wrong guesses, every other one in the mapped form: 10 each, half the (username, address) limit had they been counted apart.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++)
        {
            statuses.Add(await ForwardedGetAsync(http, forms[i % 2], "mapped-target", $"guess {i}"));
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.OK, 20), statuses);
        Assert.Equal(20, server.Metrics.AuthenticationFailures);
        foreach (var form in forms)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, await ForwardedGetAsync(http, form, "mapped-target", "the real password"));
        }

        Assert.Equal(HttpStatusCode.OK, await ForwardedGetAsync(http, "127.0.9.2", "mapped-target", "the real password"));
    }

    [Theory]
    [InlineData("::ffff:127.0.0.7", 64, "127.0.0.7")]
    [InlineData("::ffff:127.0.0.7", 128, "127.0.0.7")]
    [InlineData("127.0.0.7", 64, "127.0.0.7")]
    [InlineData("::ffff:10.1.2.3", 48, "10.1.2.3")]
    [InlineData("2001:db8:1:2:aaaa::7", 64, "2001:db8:1:2::/64")]
    public void The_throttle_counts_an_ipv4_mapped_ipv6_address_under_its_ipv4_address(string caller, int ipv6Prefix, string counted)
    {
        Assert.Equal(counted, Security.LoginThrottle.ClientKey(IPAddress.Parse(caller), ipv6Prefix));
    }

    /// <summary>A get sent by the trusted proxy (127.0.0.1) on behalf of <paramref name="forwardedFor"/>.</summary>
    private static async Task<HttpStatusCode> ForwardedGetAsync(HttpClient http, string forwardedFor, string username, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "token.php")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["action"] = "get", ["username"] = username, ["password"] = password }),
        };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>The server's hasher, with every verification taking at least <paramref name="delay"/>.</summary>
    private sealed class SlowVerification(TimeSpan delay) : IPasswordHasher
    {
        private readonly IdentityPasswordHasher _inner = new(TokenGateTestServer.FastHashIterations);

        public string Hash(string password) => _inner.Hash(password);

        public PasswordVerification Verify(string hash, string password)
        {
            Thread.Sleep(delay);
            return _inner.Verify(hash, password);
        }
    }
}
