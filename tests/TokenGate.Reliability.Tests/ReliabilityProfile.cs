using System.Globalization;

namespace TokenGate.Reliability.Tests;

/// <summary>
/// How long and how hard the reliability tests run. CI runs the short profile (the default); <c>TOKENGATE_RELIABILITY=full</c>
/// runs the long one that docs/RELIABILITY.md reports (run-full.sh). Every random choice comes from <see cref="Seed"/>, printed
/// with each test's figures, so that a failing run can be repeated with <c>TOKENGATE_RELIABILITY_SEED</c>.
/// </summary>
public sealed record ReliabilityProfile
{
    public const string ModeVariable = "TOKENGATE_RELIABILITY";
    public const string SeedVariable = "TOKENGATE_RELIABILITY_SEED";
    public const string HostileRequestsVariable = "TOKENGATE_RELIABILITY_HOSTILE_REQUESTS";
    public const string SoakMinutesVariable = "TOKENGATE_RELIABILITY_SOAK_MINUTES";

    public static ReliabilityProfile Current { get; } = FromEnvironment();

    public required string Name { get; init; }

    public bool IsFull => Name == "full";

    public int Seed { get; init; } = 20_261_122;

    /// <summary>
    /// xUnit's limit for a test, which must be a constant: long enough for the full profile. In either profile every wait inside a
    /// test has its own bound (an HTTP timeout, a deadline), so a hang fails the test long before this.
    /// </summary>
    public const int TestTimeoutMilliseconds = 35 * 60 * 1000;

    // Crash durability: kills, and the load each instance serves before it is killed (a random time in this range).
    public int Kills { get; init; } = 20;

    public TimeSpan MinLoadBeforeKill { get; init; } = TimeSpan.FromMilliseconds(300);

    public TimeSpan MaxLoadBeforeKill { get; init; } = TimeSpan.FromMilliseconds(1000);

    // Hostile input.
    public int HostileRequests { get; init; } = 4_000;

    /// <summary>Slow clients (trickled headers or bodies) held open beside the fast hostile traffic.</summary>
    public int SlowClients { get; init; } = 12;

    // Soak: lifetime and retention of tokens, the sweep interval and the duration.
    public TimeSpan SoakDuration { get; init; } = TimeSpan.FromSeconds(75);

    public TimeSpan SoakLifetime { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan SoakRetention { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan SoakSweepInterval { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan SoakSampleInterval { get; init; } = TimeSpan.FromSeconds(2);

    // Storage faults: how long each fault is held.
    public TimeSpan FaultDuration { get; init; } = TimeSpan.FromSeconds(8);

    private static ReliabilityProfile FromEnvironment()
    {
        var mode = Environment.GetEnvironmentVariable(ModeVariable);
        var profile = string.Equals(mode, "full", StringComparison.OrdinalIgnoreCase)
            ? new ReliabilityProfile
            {
                Name = "full",
                Kills = 20,
                MinLoadBeforeKill = TimeSpan.FromMilliseconds(500),
                MaxLoadBeforeKill = TimeSpan.FromSeconds(5),
                HostileRequests = 120_000,
                SlowClients = 200,
                SoakDuration = TimeSpan.FromMinutes(10),
                SoakLifetime = TimeSpan.FromSeconds(60),
                SoakRetention = TimeSpan.FromSeconds(60),
                SoakSweepInterval = TimeSpan.FromSeconds(5),
                SoakSampleInterval = TimeSpan.FromSeconds(5),
                FaultDuration = TimeSpan.FromSeconds(20),
            }
            : new ReliabilityProfile { Name = "ci" };

        if (Environment.GetEnvironmentVariable(SeedVariable) is { Length: > 0 } seed)
        {
            profile = profile with { Seed = int.Parse(seed, CultureInfo.InvariantCulture) };
        }

        if (Environment.GetEnvironmentVariable(HostileRequestsVariable) is { Length: > 0 } requests)
        {
            profile = profile with { HostileRequests = int.Parse(requests, CultureInfo.InvariantCulture) };
        }

        if (Environment.GetEnvironmentVariable(SoakMinutesVariable) is { Length: > 0 } minutes)
        {
            profile = profile with { SoakDuration = TimeSpan.FromMinutes(double.Parse(minutes, CultureInfo.InvariantCulture)) };
        }

        return profile;
    }
}
