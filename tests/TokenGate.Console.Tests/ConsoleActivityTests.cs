using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Server.Operations;
using TokenGate.Testing;

namespace TokenGate.OperatorConsole.Tests;

/// <summary>The overview's per-minute counts, read from the server's own instruments.</summary>
public sealed class ConsoleActivityTests
{
    [Fact]
    public async Task Counts_land_in_their_minute_validations_only_from_validate_and_another_servers_meter_is_not_counted()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var others = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 12, 6, 7, 0, 5, TimeSpan.Zero));
        using var activity = new ConsoleActivity(services.GetRequiredService<IMeterFactory>(), time);
        await activity.StartAsync(CancellationToken.None);
        var metrics = new TokenGateMetrics(services.GetRequiredService<IMeterFactory>());
        var another = new TokenGateMetrics(others.GetRequiredService<IMeterFactory>());

        metrics.TokenIssued();
        metrics.Request("validate", "success");
        metrics.Request("validate", "Invalid token");
        metrics.Request("get", "success");
        another.TokenIssued();
        time.Advance(TimeSpan.FromMinutes(2));
        metrics.AuthenticationFailed();
        metrics.RateLimited("get");
        metrics.TokenIssued();

        Assert.Equal(ConsoleActivity.Minutes, activity.Issued.Count);
        Assert.Equal(1, activity.Issued[^3]);
        Assert.Equal(1, activity.Issued[^1]);
        Assert.Equal(2, activity.Issued.Sum());
        Assert.Equal(2, activity.Validations[^3]);
        Assert.Equal(2, activity.Validations.Sum());
        Assert.Equal(1, activity.FailedLogins[^1]);
        Assert.Equal(1, activity.RateLimited[^1]);

        // An hour later the old minutes have left the window.
        time.Advance(TimeSpan.FromMinutes(60));
        Assert.Equal(0, activity.Issued.Sum());
        Assert.Equal(TimeSpan.FromMinutes(62), activity.Uptime);
    }
}
