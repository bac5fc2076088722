namespace TokenGate.Server.Maintenance;

/// <summary>How often and how much the <see cref="ExpiredTokenSweeper"/> deletes; bound from the <c>Sweep*</c> and <c>AuditRetention</c> settings.</summary>
public sealed class SweeperOptions
{
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long audit entries are kept before the sweeper deletes them.</summary>
    public TimeSpan AuditRetention { get; set; } = TimeSpan.FromDays(90);

    public int BatchSize { get; set; } = 500;
}
