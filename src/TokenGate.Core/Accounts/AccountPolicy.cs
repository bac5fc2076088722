namespace TokenGate.Accounts;

/// <summary>
/// What an operator set for one account (<c>tokengate account set</c>); each part null means "the server's setting": the networks
/// it may be used from (<c>get</c>, OAuth2 client authentication, <c>newpass</c>, and every use of its tokens), the lifetime of its
/// new tokens, and the most unexpired tokens it may hold.
/// </summary>
public sealed record AccountPolicy(AllowedNetworks? AllowedNetworks = null, TimeSpan? TokenLifetime = null, int? MaxTokens = null)
{
    public static readonly TimeSpan MinTokenLifetime = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaxTokenLifetime = TimeSpan.FromDays(30);
    public const int MinMaxTokens = 1;
    public const int MaxMaxTokens = 1_000_000;

    public static AccountPolicy Default { get; } = new();

    public bool IsDefault => AllowedNetworks is null && TokenLifetime is null && MaxTokens is null;

    /// <summary>Whether a caller at <paramref name="address"/> may use the account (always, without a network restriction).</summary>
    public bool Admits(System.Net.IPAddress address) => AllowedNetworks is null || AllowedNetworks.Contains(address);

    /// <summary>Whether a token may be bound to every address of <paramref name="addresses"/>.</summary>
    public bool AdmitsAll(Tokens.AddressSet addresses) => AllowedNetworks is null || AllowedNetworks.ContainsAll(addresses);

    public static bool IsValidLifetime(TimeSpan lifetime) => lifetime >= MinTokenLifetime && lifetime <= MaxTokenLifetime && lifetime.Ticks % TimeSpan.TicksPerSecond == 0;

    public static bool IsValidMaxTokens(int maxTokens) => maxTokens is >= MinMaxTokens and <= MaxMaxTokens;

    /// <summary>The policy as stored: networks in canonical text, lifetime in whole seconds; nulls for the server's settings.</summary>
    public static AccountPolicy FromStored(string? allowedNetworks, long? tokenLifetimeSeconds, long? maxTokens) => new(
        AllowedNetworks.FromStored(allowedNetworks),
        tokenLifetimeSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        maxTokens is { } max ? (int)Math.Clamp(max, MinMaxTokens, MaxMaxTokens) : null);
}

/// <summary>
/// A change to an account's policy: each part null leaves it as it is; <see cref="PolicyPart{T}.Reset"/> returns it to the server's
/// setting.
/// </summary>
public sealed record AccountPolicyChange(PolicyPart<AllowedNetworks>? AllowedNetworks = null, PolicyPart<TimeSpan>? TokenLifetime = null, PolicyPart<int>? MaxTokens = null)
{
    public bool IsEmpty => AllowedNetworks is null && TokenLifetime is null && MaxTokens is null;

    public AccountPolicy ApplyTo(AccountPolicy current) => new(
        AllowedNetworks is { } networks ? networks.Value : current.AllowedNetworks,
        TokenLifetime is { } lifetime ? lifetime.IsReset ? null : lifetime.Value : current.TokenLifetime,
        MaxTokens is { } max ? max.IsReset ? null : max.Value : current.MaxTokens);
}

/// <summary>One part of a policy change: a value, or back to the server's setting.</summary>
public sealed record PolicyPart<T>(T? Value, bool IsReset)
{
    public static PolicyPart<T> Set(T value) => new(value, false);

    public static PolicyPart<T> Reset { get; } = new(default, true);
}
