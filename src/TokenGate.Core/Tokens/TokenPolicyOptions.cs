namespace TokenGate.Tokens;

/// <summary>How long tokens live and how long expired ones are remembered.</summary>
public sealed class TokenPolicyOptions
{
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(12);
    public static readonly TimeSpan DefaultExpiredRetention = TimeSpan.FromDays(7);
    public const int DefaultMaxActiveTokensPerAccount = 1000;

    // The ranges, written once: Validate checks them for any caller, and the server's settings table quotes them in its messages.
    public static readonly TimeSpan MinLifetime = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(366);
    public static readonly TimeSpan MaxExpiredRetention = TimeSpan.FromDays(3660);
    public const int MinActiveTokensPerAccount = 1;

    /// <summary>How long a newly issued token is valid. 12 hours, as ContactNow.</summary>
    public TimeSpan Lifetime { get; set; } = DefaultLifetime;

    /// <summary>How long an expired token is kept so that <c>validate</c> can answer <c>Expired token</c>; after it the token is purged.</summary>
    public TimeSpan ExpiredRetention { get; set; } = DefaultExpiredRetention;

    /// <summary>The most unexpired tokens one account may hold at once; past it <c>get</c> answers <c>Too many tokens</c>.</summary>
    public int MaxActiveTokensPerAccount { get; set; } = DefaultMaxActiveTokensPerAccount;

    public void Validate()
    {
        if (Lifetime < MinLifetime || Lifetime > MaxLifetime)
        {
            throw new ArgumentOutOfRangeException(nameof(Lifetime), Lifetime, "The token lifetime must be between 1 second and 366 days.");
        }

        if (ExpiredRetention < TimeSpan.Zero || ExpiredRetention > MaxExpiredRetention)
        {
            throw new ArgumentOutOfRangeException(nameof(ExpiredRetention), ExpiredRetention, "The expired-token retention must be between 0 and 3660 days.");
        }

        if (MaxActiveTokensPerAccount < MinActiveTokensPerAccount)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxActiveTokensPerAccount), MaxActiveTokensPerAccount, "The active-token limit must be at least 1.");
        }
    }
}
