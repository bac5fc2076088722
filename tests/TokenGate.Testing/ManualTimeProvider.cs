namespace TokenGate.Testing;

/// <summary>A clock the test moves by hand. Timers still run on real time; only "now" is controlled.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _lock = new();
    private DateTimeOffset _now = start;

    public ManualTimeProvider()
        : this(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public long UnixNow => GetUtcNow().ToUnixTimeSeconds();

    public void Advance(TimeSpan by)
    {
        lock (_lock)
        {
            _now += by;
        }
    }

    public void SetUnixNow(long seconds)
    {
        lock (_lock)
        {
            _now = DateTimeOffset.FromUnixTimeSeconds(seconds);
        }
    }
}
