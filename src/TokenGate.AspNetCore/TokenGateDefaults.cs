namespace TokenGate.AspNetCore;

/// <summary>Default values of the TokenGate authentication scheme.</summary>
public static class TokenGateDefaults
{
    /// <summary>The default scheme name: <c>TokenGate</c>.</summary>
    public const string AuthenticationScheme = "TokenGate";

    /// <summary>The query and form parameter that carries the token, as ContactNow's APIs take it: <c>token</c>.</summary>
    public const string TokenParameterName = "token";

    /// <summary>The introspection endpoint (RFC 7662) under <see cref="TokenGateOptions.Authority"/>: <c>oauth2/introspect</c>.</summary>
    public const string IntrospectionPath = "oauth2/introspect";

    /// <summary>
    /// The name of the <see cref="System.Net.Http.IHttpClientFactory"/> client used for introspection in remote mode; configure it
    /// with <c>services.AddHttpClient(TokenGateDefaults.BackchannelHttpClientName)...</c> (a proxy, a client certificate, a
    /// resilience handler).
    /// </summary>
    public const string BackchannelHttpClientName = "TokenGate.Introspection";
}

/// <summary>Where the handler checks a token.</summary>
public enum TokenGateMode
{
    /// <summary>
    /// Against TokenGate's own store (the SQLite file the server uses, or a store registered in DI): the API runs
    /// beside TokenGate. Revocations are seen by the very next request.
    /// </summary>
    Local,

    /// <summary>
    /// Through the server's RFC 7662 introspection endpoint (<c>POST /oauth2/introspect</c>), authenticated as a resource-server
    /// account; answers are cached in memory for a bounded time (<see cref="TokenGateOptions.IntrospectionCacheDuration"/>).
    /// </summary>
    Remote,
}

/// <summary>How a refused request is answered.</summary>
public enum TokenGateFailureStyle
{
    /// <summary>HTTP 401 with an RFC 6750 <c>WWW-Authenticate: Bearer ...</c> challenge and no body.</summary>
    Rfc6750,

    /// <summary>
    /// As ContactNow's own APIs answer: HTTP 200 with the token API's JSON error body (<c>{"success":false,"error":"Invalid token"}</c>,
    /// or <c>{"success":false,"error":"Expired token","expire":-1}</c>), for clients that branch on <c>success</c>. The
    /// <c>WWW-Authenticate</c> header is sent too.
    /// </summary>
    ContactNow,
}
