using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Testing;

namespace TokenGate.AspNetCore.Tests;

/// <summary>
/// The handler's local mode refuses an expired token as <c>token.php</c> does: "expired" within the server's retention window,
/// "invalid" after it, with the retention read from the server's own setting rather than the 7-day default.
/// </summary>
public sealed class RetentionTests
{
    private const long Lifetime = 100;
    private const string InvalidChallenge = TokenGateHandlerTests<LocalModeFixture>.InvalidChallenge;
    private const string ExpiredChallenge = TokenGateHandlerTests<LocalModeFixture>.ExpiredChallenge;

    /// <summary>Two hours after expiry: past a one-hour retention, within a one-day one, and within the 7-day default.</summary>
    private static readonly TimeSpan ExpiredFor = TimeSpan.FromHours(2);

    [Theory]
    [InlineData(3_600, "Invalid token", InvalidChallenge)]
    [InlineData(86_400, "Expired token", ExpiredChallenge)]
    public async Task Local_mode_answers_expired_or_invalid_as_token_php_does_under_the_servers_retention(long retentionSeconds, string contractError, string challenge)
    {
        var time = new ManualTimeProvider();
        var retention = retentionSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // The sweeper stays out of it: the token must still be stored, so that only the retention decides.
        await using var server = await TokenGateTestServer.StartAsync(
            new Dictionary<string, string?> { ["TokenLifetime"] = $"{Lifetime}", ["ExpiredRetention"] = retention, ["SweepInterval"] = "3650d" },
            time);
        await server.CreateAccountAsync("ann", "ann's password");
        var client = new TokenApiClient(server.CreateClient());
        var issued = await client.GetTokenAsync("ann", "ann's password");

        // The API is configured as a deployment beside the server would be: the server's key, not the scheme's section.
        await using var api = await ApiApp.StartAsync(
            options => options.Database = server.DatabasePath,
            time,
            new Dictionary<string, string?> { ["TokenGate:ExpiredRetention"] = retention });
        using var http = api.CreateClient();

        time.SetUnixNow(issued.Expire!.Value + (long)ExpiredFor.TotalSeconds);
        var contract = await client.ValidateAsync(issued.Token!);
        var handler = await http.WhoAmIAsync(issued.Token);

        Assert.Equal(contractError, contract.Error);
        Assert.Equal((HttpStatusCode.Unauthorized, challenge), (handler.Status, handler.Challenge));
    }

    [Fact]
    public async Task The_schemes_own_ExpiredRetention_wins_over_the_servers_key()
    {
        using var folder = new TempDirectory("tokengate-retention");
        var unused = folder.File("unused.db");
        File.WriteAllBytes(unused, []);
        await using var api = await ApiApp.StartAsync(
            options => options.Database = unused,
            configuration: new Dictionary<string, string?>
            {
                ["TokenGate:ExpiredRetention"] = "3600",
                ["Authentication:Schemes:TokenGate:ExpiredRetention"] = "01:30:00",
            });
        var bound = api.App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<TokenGateOptions>>().Get(TokenGateDefaults.AuthenticationScheme);

        Assert.Equal(TimeSpan.FromMinutes(90), bound.ExpiredRetention);
    }
}
