namespace TokenGate.Client;

/// <summary>Where the token goes on the requests an <see cref="HttpClient"/> sends to the protected API.</summary>
public enum TokenPlacement
{
    /// <summary>As a query parameter (<c>?token=...</c>), the ContactNow convention.</summary>
    QueryParameter,

    /// <summary>As an <c>Authorization: Bearer ...</c> header.</summary>
    BearerHeader,
}

/// <summary>How the token handler added by <c>AddTokenGateToken</c> attaches the token.</summary>
public sealed class TokenHandlerOptions
{
    /// <summary>Which registered token client supplies the token (the name given to <c>AddTokenGateClient</c>). Default: the unnamed one.</summary>
    public string TokenClientName { get; set; } = Microsoft.Extensions.Options.Options.DefaultName;

    /// <summary>Where the token goes. Default <see cref="TokenPlacement.QueryParameter"/>.</summary>
    public TokenPlacement Placement { get; set; } = TokenPlacement.QueryParameter;

    /// <summary>The query parameter's name for <see cref="TokenPlacement.QueryParameter"/>. Default <c>token</c>.</summary>
    public string QueryParameterName { get; set; } = "token";

    /// <summary>
    /// Whether a request whose answer says the token is no longer good (HTTP 401, or a body whose error is <c>Expired token</c>,
    /// <c>Invalid token</c> or <c>Unknown token</c>) is sent once more with a renewed token, when its content can be sent again.
    /// Default true.
    /// </summary>
    public bool RetryWhenRejected { get; set; } = true;
}
