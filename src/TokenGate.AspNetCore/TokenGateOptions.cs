using System.Net;
using Microsoft.AspNetCore.Authentication;
using TokenGate.Security;
using TokenGate.Tokens;

namespace TokenGate.AspNetCore;

/// <summary>
/// Options of the TokenGate authentication scheme. Bound from <c>Authentication:Schemes:{scheme}</c> in configuration (see the
/// package README), then from the code passed to <c>AddTokenGate(...)</c>. Read once per scheme: a change needs a restart.
/// </summary>
public sealed class TokenGateOptions : AuthenticationSchemeOptions
{
    public static readonly TimeSpan DefaultIntrospectionCacheDuration = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultNegativeCacheDuration = TimeSpan.FromSeconds(5);
    public const int DefaultMaxCachedIntrospections = 10_000;
    private static readonly TimeSpan MaxExpiredRetention = TimeSpan.FromDays(3660);

    public TokenGateOptions()
    {
        Events = new TokenGateEvents();
    }

    /// <summary>The events the handler raises; replace them or set their <c>On...</c> delegates.</summary>
    public new TokenGateEvents Events
    {
        get => (TokenGateEvents)base.Events!;
        set => base.Events = value;
    }

    /// <summary>Where tokens are checked: <see cref="TokenGateMode.Local"/> (the default) or <see cref="TokenGateMode.Remote"/>.</summary>
    public TokenGateMode Mode { get; set; } = TokenGateMode.Local;

    /// <summary>
    /// Local mode: the TokenGate server's SQLite file (its <c>--database</c>); needs the <c>TokenGate.AspNetCore.Sqlite</c> package
    /// and <c>AddTokenGateSqlite()</c>. It is only read: no key file is needed, and the schema is neither created nor migrated.
    /// Leave it empty to use a <c>TokenValidator</c>, an <c>ITokenLookupStore</c> or an <c>ITokenGateStore</c> registered in DI
    /// instead.
    /// </summary>
    public string? Database { get; set; }

    /// <summary>
    /// Local mode: how long after its expiry a token is refused as expired rather than invalid; it must be the server's
    /// (<c>--expired-retention</c>) so that this handler and <c>token.php</c> agree. Bound from the scheme's section, else from the
    /// server's own <c>TOKENGATE_EXPIRED_RETENTION</c> or <c>TokenGate:ExpiredRetention</c>; 7 days (the server's default)
    /// otherwise. Ignored when the application registers a <c>TokenValidator</c> (the server itself), which has the server's.
    /// </summary>
    public TimeSpan ExpiredRetention { get; set; } = TokenPolicyOptions.DefaultExpiredRetention;

    /// <summary>
    /// Local mode: the TokenGate server's key file (its <c>--key-file</c>), read, never created. With the server's key the handler
    /// refuses a forged token (its tag does not verify) without reading the database. Bound from the scheme's section, else from
    /// the server's own <c>TOKENGATE_KEY_FILE</c> or <c>TokenGate:KeyFile</c>. Without a key (neither this nor
    /// <see cref="SealingKey"/>) every well-formed token is looked up in the database, as before tags. A key other than the
    /// server's makes every token fail. Ignored when the application registers a <c>TokenValidator</c> (the server itself).
    /// </summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// Local mode: the server's sealing key as base64 (its <c>TOKENGATE_SEALING_KEY</c>), instead of <see cref="KeyFile"/>; bound
    /// from the server's own <c>TOKENGATE_SEALING_KEY</c> or <c>TokenGate:SealingKey</c>. Keep it out of source control.
    /// </summary>
    public string? SealingKey { get; set; }

    /// <summary>Remote mode: the TokenGate server's base URL, e.g. <c>https://tokens.example/</c>.</summary>
    public Uri? Authority { get; set; }

    /// <summary>Remote mode: the introspection endpoint; by default <see cref="Authority"/> + <c>oauth2/introspect</c>.</summary>
    public Uri? IntrospectionEndpoint { get; set; }

    /// <summary>Remote mode: the resource-server account (<c>tokengate account add NAME --introspect</c>).</summary>
    public string? ClientId { get; set; }

    /// <summary>Remote mode: that account's password. Keep it out of source control (user secrets, environment, a vault).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>
    /// Remote mode: how long an active introspection answer is reused, never past the token's expiry. This is the revocation lag:
    /// a token deleted on the server can still pass here for up to this long (plus one introspection round trip). Zero asks the
    /// server on every request. 30 seconds by default.
    /// </summary>
    public TimeSpan IntrospectionCacheDuration { get; set; } = DefaultIntrospectionCacheDuration;

    /// <summary>Remote mode: how long an inactive answer (<c>{"active":false}</c>) is reused; zero never caches one. 5 seconds by default.</summary>
    public TimeSpan NegativeCacheDuration { get; set; } = DefaultNegativeCacheDuration;

    /// <summary>Remote mode: the most introspection answers kept in memory (10,000 by default).</summary>
    public int MaxCachedIntrospections { get; set; } = DefaultMaxCachedIntrospections;

    /// <summary>Remote mode: how long one introspection call may take before the request is answered 503 (10 seconds by default).</summary>
    public TimeSpan BackchannelTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Remote mode: refuse an <c>http://</c> introspection endpoint unless it is on a loopback address (true by default):
    /// the resource-server password and the tokens travel in it.</summary>
    public bool RequireHttpsAuthority { get; set; } = true;

    /// <summary>
    /// Proxies whose <c>X-Forwarded-For</c> is believed when the handler works out the caller's address, by the server's rule: the
    /// right-most address that is not itself a trusted proxy. Empty (the default): the connection's address is the caller, as
    /// already rewritten by <c>UseForwardedHeaders</c> if the application uses that middleware.
    /// </summary>
    public IList<IPNetwork> TrustedProxies { get; } = [];

    /// <summary>Read the token from the <c>token</c> query parameter (ContactNow's convention). True by default.</summary>
    public bool ReadTokenFromQuery { get; set; } = true;

    /// <summary>
    /// Read the token from a <c>token</c> field of an <c>application/x-www-form-urlencoded</c> body. True by default. Multipart
    /// bodies are never read (that would buffer uploads before the caller is known).
    /// </summary>
    public bool ReadTokenFromForm { get; set; } = true;

    /// <summary>Put <c>error</c> and <c>error_description</c> in the challenge (true by default, as JwtBearer).</summary>
    public bool IncludeErrorDetails { get; set; } = true;

    /// <summary>The <c>WWW-Authenticate</c> scheme and parameters that start the challenge: <c>Bearer</c>, or e.g. <c>Bearer realm="api"</c>.</summary>
    public string Challenge { get; set; } = "Bearer";

    /// <summary>How refusals are answered: RFC 6750 (the default) or ContactNow's HTTP 200 error bodies.</summary>
    public TokenGateFailureStyle FailureStyle { get; set; } = TokenGateFailureStyle.Rfc6750;

    /// <summary>The introspection endpoint in use: <see cref="IntrospectionEndpoint"/>, else under <see cref="Authority"/>.</summary>
    internal Uri? ResolvedIntrospectionEndpoint => IntrospectionEndpoint
        ?? (Authority is { IsAbsoluteUri: true } authority
            ? new Uri(new Uri(authority.AbsoluteUri.TrimEnd('/') + "/"), TokenGateDefaults.IntrospectionPath)
            : null);

    /// <summary>The server's key ring named by <see cref="SealingKey"/> or <see cref="KeyFile"/> (one key, or a ring of keys that
    /// <c>tokengate key</c> wrote: tokens under any key it holds verify); null when neither is set (or the value is bad, which
    /// <see cref="GetErrors"/> reports). A key file that cannot be read throws <see cref="SealingKeyException"/>.</summary>
    internal static SealingKeyRing? LoadKey(TokenGateOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.SealingKey))
        {
            try
            {
                return SealingKeyRing.Parse(options.SealingKey);
            }
            catch (SealingKeyException)
            {
                return null;
            }
        }

        return string.IsNullOrWhiteSpace(options.KeyFile) ? null : SealingKeyRing.Load(options.KeyFile);
    }

    /// <summary>Checks the options; throws <see cref="InvalidOperationException"/> naming every problem. (The host checks them at
    /// start too, with what DI can tell.)</summary>
    public override void Validate(string scheme)
    {
        base.Validate(scheme);
        var errors = GetErrors().ToList();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"TokenGate scheme '{scheme}': {string.Join(" ", errors)}");
        }
    }

    internal IEnumerable<string> GetErrors()
    {
        if (string.IsNullOrWhiteSpace(Challenge))
        {
            yield return "Challenge must not be empty.";
        }

        if (Mode == TokenGateMode.Local)
        {
            if (ExpiredRetention < TimeSpan.Zero || ExpiredRetention > MaxExpiredRetention)
            {
                yield return "ExpiredRetention must be between 0 and 3660 days, as the server's.";
            }

            if (!string.IsNullOrWhiteSpace(SealingKey))
            {
                if (LoadKey(this) is null)
                {
                    yield return "SealingKey is not the base64 of 32 bytes (the server's TOKENGATE_SEALING_KEY).";
                }
            }
            else if (!string.IsNullOrWhiteSpace(KeyFile) && !File.Exists(KeyFile))
            {
                yield return $"KeyFile {KeyFile} does not exist (it must be the server's key file; the handler never creates one).";
            }

            yield break;
        }

        if (ResolvedIntrospectionEndpoint is not { } endpoint)
        {
            yield return "Remote mode needs Authority (the TokenGate server's base URL) or IntrospectionEndpoint, as an absolute URL.";
        }
        else if (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp)
        {
            yield return $"The introspection endpoint must be http or https, not '{endpoint.Scheme}'.";
        }
        else if (RequireHttpsAuthority && endpoint.Scheme == Uri.UriSchemeHttp && !endpoint.IsLoopback)
        {
            yield return $"The introspection endpoint {endpoint.GetLeftPart(UriPartial.Authority)} is not HTTPS; the resource-server password would travel in the clear. Use https, or set RequireHttpsAuthority to false.";
        }

        if (string.IsNullOrEmpty(ClientId) || string.IsNullOrEmpty(ClientSecret))
        {
            yield return "Remote mode needs ClientId and ClientSecret: a resource-server account ('tokengate account add NAME --introspect').";
        }

        if (IntrospectionCacheDuration < TimeSpan.Zero || NegativeCacheDuration < TimeSpan.Zero)
        {
            yield return "IntrospectionCacheDuration and NegativeCacheDuration must not be negative.";
        }

        if (MaxCachedIntrospections < 1)
        {
            yield return "MaxCachedIntrospections must be at least 1.";
        }

        if (BackchannelTimeout <= TimeSpan.Zero)
        {
            yield return "BackchannelTimeout must be positive.";
        }
    }
}
