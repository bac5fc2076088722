namespace TokenGate.Server.Security;

/// <summary>Brute-force protection of <c>get</c> and <c>newpass</c>; bound from the <c>Login*</c> settings.</summary>
public sealed class LoginThrottleOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>How long a failure counts: a caller is forgiven this long after its last failure.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Failures of one username from one client IP before its attempts are delayed.</summary>
    public int DelayAfter { get; set; } = 5;

    /// <summary>Failures of one username from one client IP before its attempts are refused (429).</summary>
    public int BlockAfter { get; set; } = 20;

    /// <summary>Failures from one client IP, whatever the username, before its attempts are delayed.</summary>
    public int DelayAfterPerClient { get; set; } = 20;

    /// <summary>Failures from one client IP, whatever the username, before its attempts are refused (429).</summary>
    public int BlockAfterPerClient { get; set; } = 100;

    /// <summary>The first delay; each further failure doubles it, up to <see cref="MaxDelay"/>.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>The most (username, IP) and IP counters kept; past it expired ones, then the oldest, are dropped.</summary>
    public int MaxTrackedKeys { get; set; } = 100_000;
}
