namespace TokenGate.Client;

/// <summary>
/// Where the token API is, which account to get tokens for, and how the token is cached. Bound from configuration by
/// <c>services.AddTokenGateClient(configuration.GetSection("TokenGate"))</c>, e.g.
/// <c>{"TokenGate": {"Endpoint": "https://api-106.dxi.eu/token.php", "Username": "...", "Password": "..."}}</c>.
/// </summary>
public sealed class TokenClientOptions
{
    /// <summary>
    /// The token API's full URL, e.g. <see cref="TokenEndpoints.ContactNowEu"/>, <see cref="TokenEndpoints.ContactNowUs"/> or
    /// <see cref="TokenEndpoints.TokenGate(Uri)"/>. Required.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The body format to ask for. Default <see cref="TokenFormat.Json"/>.</summary>
    public TokenFormat Format { get; set; } = TokenFormat.Json;

    /// <summary>How to send the arguments. Default <see cref="TokenRequestMethod.Post"/>, which keeps the password out of URLs.</summary>
    public TokenRequestMethod RequestMethod { get; set; } = TokenRequestMethod.Post;

    /// <summary>The API username. Required to get tokens.</summary>
    public string? Username { get; set; }

    /// <summary>The API password (the "key"). Required to get tokens. Never logged, never part of an exception or a cache key.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// The addresses the token is bound to (the API's <c>address</c> argument: at most 10 IPv4 or IPv6 addresses). Empty, the
    /// default, binds the token to the address the request comes from.
    /// </summary>
    public IList<string> Addresses { get; } = new List<string>();

    /// <summary>How long before the token's expiry it is renewed. Default 60 seconds.</summary>
    public TimeSpan RenewalMargin { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Up to this much more is taken off at random (once per token), so that many processes sharing an account do not all renew
    /// in the same second. Default 15 seconds; zero turns it off.
    /// </summary>
    public TimeSpan RenewalJitter { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A directory for a persistent token cache: when set, the token is written there (one file per endpoint, username and
    /// address set, mode 0600, replaced atomically) and a restarted process reuses it instead of asking for a new one. A store
    /// registered with <c>UseTokenStore</c> takes precedence.
    /// </summary>
    public string? CacheDirectory { get; set; }
}
