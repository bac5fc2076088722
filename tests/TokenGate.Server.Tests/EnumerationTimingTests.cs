using System.Diagnostics;
using TokenGate.Testing;

namespace TokenGate.Server.Tests;

/// <summary>Timing is measured alone: tests running beside it on two cores would skew one side of the comparison.</summary>
[CollectionDefinition(nameof(TimingCollection), DisableParallelization = true)]
public sealed class TimingCollection;

/// <summary>No user enumeration through timing: an unknown username costs what a wrong password costs.</summary>
[Collection(nameof(TimingCollection))]
public sealed class EnumerationTimingTests
{
    [Fact]
    public async Task An_unknown_username_costs_the_same_time_as_a_wrong_password()
    {
        // Real PBKDF2 cost (100,000 iterations), no throttling: only the hashing is compared.
        await using var server = await TokenGateTestServer.StartAsync(new Dictionary<string, string?> { ["PasswordHashIterations"] = "100000" });
        await server.CreateAccountAsync("known-user", "known user's password");
        var client = new TokenApiClient(server.CreateClient());
        await client.GetTokenAsync("warm-up", "warm-up password");

        // The three kinds alternate, so that a load that comes and goes (other test assemblies run beside this one) weighs on
        // each alike; and both really ran PBKDF2: a malformed username is not a shortcut either.
        var unknown = new List<double>();
        var wrong = new List<double>();
        var malformed = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            unknown.Add(await TimeAsync(() => client.GetTokenAsync($"unknown-user-{i}", "some password")));
            wrong.Add(await TimeAsync(() => client.GetTokenAsync("known-user", $"wrong password {i}")));
            malformed.Add(await TimeAsync(() => client.GetTokenAsync($"bad name {i}!", "some password")));
        }

        var ratio = Median(unknown) / Median(wrong);
        Assert.True(ratio is >= 0.5 and <= 2.0, $"unknown {Median(unknown):0.0} ms against wrong {Median(wrong):0.0} ms");
        Assert.InRange(Median(malformed) / Median(wrong), 0.5, 2.0);
    }

    private static async Task<double> TimeAsync(Func<Task> action)
    {
        var watch = Stopwatch.StartNew();
        await action();
        return watch.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
