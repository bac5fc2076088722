namespace TokenGate.Server.Security;

/// <summary>The guessing defences of every credential check; bound from the <c>Login*</c> settings.</summary>
public sealed class LoginThrottleOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>How long a failure counts: a caller is forgiven this long after its last failure.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Failures of one username from one client before its attempts are delayed.</summary>
    public int DelayAfter { get; set; } = 5;

    /// <summary>Failures of one username from one client before its attempts are refused (429).</summary>
    public int BlockAfter { get; set; } = 20;

    /// <summary>Failures from one client, whatever the username, before its attempts are delayed.</summary>
    public int DelayAfterPerClient { get; set; } = 20;

    /// <summary>Failures from one client, whatever the username, before its attempts are refused (429).</summary>
    public int BlockAfterPerClient { get; set; } = 100;

    /// <summary>
    /// Failures of one username from any clients before it is refused (429) from unfamiliar clients (NIST SP 800-63B §5.2.2:
    /// at most 100 consecutive failed attempts on one account).
    /// </summary>
    public int BlockAfterPerAccount { get; set; } = 100;

    /// <summary>How long a client the username logged in from stays familiar (exempt from the per-username limit).</summary>
    public TimeSpan FamiliarFor { get; set; } = TimeSpan.FromDays(30);

    /// <summary>IPv6 clients are counted by this prefix: one host commonly holds a whole /64.</summary>
    public int Ipv6Prefix { get; set; } = 64;

    /// <summary>The first delay; each further failure doubles it, up to <see cref="MaxDelay"/>.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(8);
}
