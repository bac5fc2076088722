using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Accounts;
using TokenGate.Contract;
using TokenGate.Server.Security;
using TokenGate.Storage;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>
/// Per-account policies over real HTTP (issue 17): 127.0.0.1 is inside the account's allowed network, 127.0.0.2 outside. The
/// server's password hasher is the real PBKDF2 one, wrapped to count verifications, so that "no PBKDF2 run" is counted, not timed.
/// </summary>
public sealed class AccountPolicyTests
{
    private const string Password = "correct horse battery";
    private static readonly IPAddress Inside = LoopbackClient.First;
    private static readonly IPAddress Outside = LoopbackClient.Second;

    private sealed class CountingHasher(IPasswordHasher inner) : IPasswordHasher
    {
        private int _verifications;

        public int Verifications => Volatile.Read(ref _verifications);

        public string Hash(string password) => inner.Hash(password);

        public PasswordVerification Verify(string hash, string password)
        {
            Interlocked.Increment(ref _verifications);
            return inner.Verify(hash, password);
        }
    }

    private static async Task<(TokenGateTestServer Server, CountingHasher Hasher)> StartAsync()
    {
        var hasher = new CountingHasher(new IdentityPasswordHasher(TokenGateTestServer.FastHashIterations));
        var server = await TokenGateTestServer.StartAsync(customize: services => services.AddSingleton<IPasswordHasher>(hasher));
        return (server, hasher);
    }

    private static async Task SetPolicyAsync(TokenGateTestServer server, string name, string? allowFrom = null, TimeSpan? lifetime = null, int? maxTokens = null)
    {
        var change = new AccountPolicyChange(
            allowFrom is null ? null : AllowedNetworks.TryParse(allowFrom, out var networks) ? PolicyPart<AllowedNetworks>.Set(networks!) : throw new ArgumentException(allowFrom),
            lifetime is { } l ? PolicyPart<TimeSpan>.Set(l) : null,
            maxTokens is { } m ? PolicyPart<int>.Set(m) : null);
        Assert.Equal(AccountChangeStatus.Done, (await server.Accounts.SetPolicyAsync(name, change, CancellationToken.None)).Status);
    }

    private static async Task<IReadOnlyList<AuditEntry>> WaitForAuditAsync(TokenGateTestServer server, string account, string outcome, int atLeast = 1)
    {
        var store = server.App.Services.GetRequiredService<ITokenGateStore>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        IReadOnlyList<AuditEntry> entries;
        do
        {
            entries = await store.ListAuditAsync(account, null, 1000, CancellationToken.None);
            if (entries.Count(e => e.Outcome == outcome) >= atLeast)
            {
                break;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        return entries;
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    [Fact]
    public async Task A_get_from_outside_the_allowed_networks_fails_like_a_wrong_password_without_a_pbkdf2_run_and_is_audited()
    {
        var (server, hasher) = await StartAsync();
        await using var _ = server;
        await server.CreateAccountAsync("partner", Password);
        await SetPolicyAsync(server, "partner", allowFrom: "127.0.0.1/32, 2001:db8::/32");
        using var outside = server.CreateClient(Outside);
        using var inside = server.CreateClient(Inside);

        var before = hasher.Verifications;
        var right = await new TokenApiClient(outside).GetTokenAsync("partner", Password);
        var wrong = await new TokenApiClient(outside).GetTokenAsync("partner", "wrong password");
        Assert.Equal(before, hasher.Verifications);

        Assert.False(right.Success);
        Assert.Equal(ContractErrors.AuthenticationFailure, right.Error);
        Assert.Equal(right.Error, wrong.Error);
        Assert.Equal(right.Fields, wrong.Fields);
        var entries = await WaitForAuditAsync(server, "partner", AuditActions.OutsideAllowedNetworks, atLeast: 2);
        Assert.Equal(2, entries.Count(e => e.Outcome == AuditActions.OutsideAllowedNetworks && e.Client == "127.0.0.2" && e.Action == AuditActions.Get));
        Assert.Contains(server.Logs.Lines, m => m.Contains("outside the account's allowed networks", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Lines, m => m.Contains(Password, StringComparison.Ordinal));

        // From inside, the same password works, and costs its one PBKDF2 run.
        var admitted = await new TokenApiClient(inside).GetTokenAsync("partner", Password);
        Assert.True(admitted.Success, admitted.Error);
        Assert.Equal(before + 1, hasher.Verifications);

        // A remembered verification does not let the outside caller in either.
        Assert.Equal(ContractErrors.AuthenticationFailure, (await new TokenApiClient(outside).GetTokenAsync("partner", Password)).Error);
        Assert.Equal(before + 1, hasher.Verifications);
    }

    [Fact]
    public async Task An_address_argument_outside_the_allowed_networks_is_a_bad_argument()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        await server.CreateAccountAsync("partner", Password);
        await SetPolicyAsync(server, "partner", allowFrom: "127.0.0.0/30,10.1.0.0/16");
        using var inside = server.CreateClient(Inside);
        var api = new TokenApiClient(inside);

        Assert.Equal(ContractErrors.BadArgument("address"), (await api.GetTokenAsync("partner", Password, "127.0.0.1, 10.2.0.1")).Error);
        Assert.Equal(ContractErrors.BadArgument("address"), (await api.GetTokenAsync("partner", Password, "::ffff:10.2.0.1")).Error);
        Assert.True((await api.GetTokenAsync("partner", Password, "127.0.0.2, ::ffff:10.1.2.3")).Success);

        // A wrong password from inside is still an authentication failure first: the policy is not revealed to a guesser.
        Assert.Equal(ContractErrors.AuthenticationFailure, (await api.GetTokenAsync("partner", "wrong password", "10.2.0.1")).Error);
    }

    [Fact]
    public async Task Narrowing_the_networks_stops_tokens_bound_outside_them_at_once()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        await server.CreateAccountAsync("partner", Password);
        using var outside = server.CreateClient(Outside);
        using var inside = server.CreateClient(Inside);
        var fromOutside = await new TokenApiClient(outside).GetTokenAsync("partner", Password);
        var mixed = await new TokenApiClient(inside).GetTokenAsync("partner", Password, "127.0.0.1, 10.0.0.1");
        var insideOnly = await new TokenApiClient(inside).GetTokenAsync("partner", Password);
        Assert.True((await new TokenApiClient(outside).ValidateAsync(fromOutside.Token!)).Success);
        Assert.True((await new TokenApiClient(inside).ValidateAsync(mixed.Token!)).Success);

        await SetPolicyAsync(server, "partner", allowFrom: "127.0.0.1");

        Assert.Equal("Invalid token", (await new TokenApiClient(outside).ValidateAsync(fromOutside.Token!)).Error);
        Assert.Equal("Invalid token", (await new TokenApiClient(inside).ValidateAsync(mixed.Token!)).Error);
        var kept = await new TokenApiClient(inside).ValidateAsync(insideOnly.Token!);
        Assert.True(kept.Success);
        Assert.Equal(insideOnly.Expire, kept.Expire);

        // Lifting the restriction gives the mixed token back: nothing was deleted.
        await server.Accounts.SetPolicyAsync("partner", new AccountPolicyChange(AllowedNetworks: PolicyPart<AllowedNetworks>.Reset), CancellationToken.None);
        Assert.True((await new TokenApiClient(inside).ValidateAsync(mixed.Token!)).Success);
    }

    [Fact]
    public async Task Newpass_from_outside_the_allowed_networks_is_an_authentication_failure_and_changes_nothing()
    {
        var (server, hasher) = await StartAsync();
        await using var _ = server;
        await server.CreateAccountAsync("partner", Password);
        using var outside = server.CreateClient(Outside);
        using var inside = server.CreateClient(Inside);
        var token = (await new TokenApiClient(outside).GetTokenAsync("partner", Password)).Token!;
        await SetPolicyAsync(server, "partner", allowFrom: "127.0.0.1");

        var answer = await new TokenApiClient(outside).NewPasswordAsync(token, "a brand new password");

        Assert.Equal(ContractErrors.AuthenticationFailure, answer.Error);
        Assert.Contains(await WaitForAuditAsync(server, "partner", AuditActions.OutsideAllowedNetworks), e => e.Action == AuditActions.NewPassword && e.Client == "127.0.0.2");
        var verifications = hasher.Verifications;
        Assert.True((await new TokenApiClient(inside).GetTokenAsync("partner", Password)).Success);
        Assert.Equal(verifications + 1, hasher.Verifications);
    }

    [Fact]
    public async Task OAuth2_client_authentication_from_outside_the_allowed_networks_is_refused_without_a_pbkdf2_run()
    {
        var (server, hasher) = await StartAsync();
        await using var _ = server;
        await server.CreateAccountAsync("partner", Password);
        await SetPolicyAsync(server, "partner", allowFrom: "127.0.0.1");
        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("partner:" + Password)));

        async Task<HttpStatusCode> TokenAsync(IPAddress source)
        {
            using var http = server.CreateClient(source);
            using var request = new HttpRequestMessage(HttpMethod.Post, "oauth2/token") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }) };
            request.Headers.Authorization = basic;
            return (await http.SendAsync(request)).StatusCode;
        }

        var before = hasher.Verifications;
        Assert.Equal(HttpStatusCode.Unauthorized, await TokenAsync(Outside));
        Assert.Equal(before, hasher.Verifications);
        Assert.Contains(await WaitForAuditAsync(server, "partner", AuditActions.OutsideAllowedNetworks), e => e.Action == "token" && e.Client == "127.0.0.2");
        Assert.Equal(HttpStatusCode.OK, await TokenAsync(Inside));
    }

    [Fact]
    public async Task New_tokens_get_the_accounts_lifetime_and_a_shortened_lifetime_issues_a_new_token_instead_of_a_longer_lived_one()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        await server.CreateAccountAsync("payroll", Password);
        using var http = server.CreateClient();
        var api = new TokenApiClient(http);
        var twelveHours = await api.GetTokenAsync("payroll", Password);
        Assert.InRange(twelveHours.Expire!.Value - Now(), 43_190, 43_200);

        await SetPolicyAsync(server, "payroll", lifetime: TimeSpan.FromHours(1));
        var oneHour = await api.GetTokenAsync("payroll", Password);
        var again = await api.GetTokenAsync("payroll", Password);

        Assert.NotEqual(twelveHours.Token, oneHour.Token);
        Assert.InRange(oneHour.Expire!.Value - Now(), 3_590, 3_600);
        Assert.Equal(oneHour.Token, again.Token);
        Assert.Equal(oneHour.Expire, again.Expire);

        // The existing token keeps its own expiry.
        var old = await api.ValidateAsync(twelveHours.Token!);
        Assert.True(old.Success);
        Assert.Equal(twelveHours.Expire, old.Expire);

        // Lengthening issues nothing new: the latest-expiring existing token within the new lifetime (the 12-hour one) is
        // handed back, as the contract's get does.
        await SetPolicyAsync(server, "payroll", lifetime: TimeSpan.FromDays(2));
        Assert.Equal(twelveHours.Token, (await api.GetTokenAsync("payroll", Password)).Token);
    }

    [Fact]
    public async Task The_accounts_token_cap_replaces_the_server_wide_limit_for_it()
    {
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["MaxActiveTokensPerAccount"] = "2" });
        await server.CreateAccountAsync("capped", Password);
        await server.CreateAccountAsync("roomy", Password);
        await SetPolicyAsync(server, "capped", maxTokens: 1);
        await SetPolicyAsync(server, "roomy", maxTokens: 3);
        var api = new TokenApiClient(server.CreateClient());

        Assert.True((await api.GetTokenAsync("capped", Password, "10.0.0.1")).Success);
        Assert.Equal(ContractErrors.TooManyTokens, (await api.GetTokenAsync("capped", Password, "10.0.0.2")).Error);
        foreach (var address in new[] { "10.0.0.1", "10.0.0.2", "10.0.0.3" })
        {
            Assert.True((await api.GetTokenAsync("roomy", Password, address)).Success);
        }

        Assert.Equal(ContractErrors.TooManyTokens, (await api.GetTokenAsync("roomy", Password, "10.0.0.4")).Error);
    }

    [Fact]
    public async Task Introspection_answers_the_accounts_real_exp_and_refuses_a_token_bound_outside_a_narrowed_policy()
    {
        await using var server = await TokenGateTestServer.StartAsync();
        await server.CreateAccountAsync("payroll", Password);
        await server.CreateAccountAsync("api", "resource server password");
        await server.Accounts.SetIntrospectionAsync("api", true, CancellationToken.None);
        await SetPolicyAsync(server, "payroll", lifetime: TimeSpan.FromMinutes(90));
        using var http = server.CreateClient();
        var issued = await new TokenApiClient(http).GetTokenAsync("payroll", Password, "127.0.0.2");

        async Task<JsonElement> IntrospectAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "oauth2/introspect") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = issued.Token! }) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("api:resource server password")));
            return JsonDocument.Parse(await (await http.SendAsync(request)).Content.ReadAsStringAsync()).RootElement.Clone();
        }

        var active = await IntrospectAsync();
        Assert.True(active.GetProperty("active").GetBoolean());
        Assert.Equal(issued.Expire, active.GetProperty("exp").GetInt64());
        Assert.Equal(issued.Expire - 5_400, active.GetProperty("iat").GetInt64());

        await SetPolicyAsync(server, "payroll", allowFrom: "127.0.0.1");
        Assert.False((await IntrospectAsync()).GetProperty("active").GetBoolean());
    }
}
