using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
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
    }

    [Fact]
    public async Task Two_hundred_concurrent_oauth2_client_authentications_with_wrong_secrets_are_checked_at_most_twenty_times()
    {
        await using var server = await TokenGateTestServer.StartAsync(Defaults);
        await server.CreateAccountAsync("service", "the service secret");
        using var http = server.CreateClient(IPAddress.Parse("127.0.2.3"));

        var statuses = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "oauth2/token")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"service:wrong{i}")));
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }));

        var checkedCount = statuses.Count(s => s == HttpStatusCode.Unauthorized);
        Report($"200 concurrent OAuth2 client authentications with wrong secrets, one address: {checkedCount} checked");
        Assert.InRange(checkedCount, 1, 20);
        Assert.Equal(200 - checkedCount, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
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

        async Task<(int Checked, int Refused)> SprayAsync(string username, int subnet)
        {
            var clients = Enumerable.Range(1, 120).Select(i => new TokenApiClient(server.CreateClient(IPAddress.Parse($"127.0.{subnet}.{i}")), mode: SendMode.PostForm)).ToList();
            var answers = await Task.WhenAll(clients.Select(client => client.SendAsync(("action", "get"), ("username", username), ("password", "a wrong guess"))));
            return (answers.Count(a => a.Body.Error == "Authentication failure"), answers.Count(a => a.Response.StatusCode == HttpStatusCode.TooManyRequests));
        }

        var known = await SprayAsync("exists", 6);
        var unknown = await SprayAsync("does-not-exist", 7);

        Assert.Equal((100, 20), known);
        Assert.Equal(known, unknown);
    }

    private static void Report(string figures) => TestContext.Current.TestOutputHelper?.WriteLine(figures);

    [Fact]
    public async Task Ipv6_callers_are_counted_by_their_64_bit_prefix_so_one_host_cannot_rotate_through_its_addresses()
    {
        var settings = new Dictionary<string, string?>(Defaults) { ["TrustedProxy"] = "127.0.0.1" };
        await using var server = await TokenGateTestServer.StartAsync(settings);
        await server.CreateAccountAsync("ipv6-target", "the real password");
        using var http = server.CreateClient(IPAddress.Parse("127.0.0.1"));

        async Task<HttpStatusCode> TryAsync(string forwardedFor, string password)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "token.php")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["action"] = "get", ["username"] = "ipv6-target", ["password"] = password }),
            };
            request.Headers.Add("X-Forwarded-For", forwardedFor);
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

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
}
