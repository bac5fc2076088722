using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace TokenGate.AspNetCore;

/// <summary>
/// The context of <see cref="TokenGateEvents.Challenge"/>: the RFC 6750 error about to be sent. Call <see cref="HandleResponse"/>
/// after writing the response yourself.
/// </summary>
public sealed class TokenGateChallengeContext(HttpContext context, AuthenticationScheme scheme, TokenGateOptions options, AuthenticationProperties properties)
    : PropertiesContext<TokenGateOptions>(context, scheme, options, properties)
{
    /// <summary>Why authentication failed; null when the request carried no token.</summary>
    public Exception? AuthenticateFailure { get; init; }

    /// <summary>The RFC 6750 <c>error</c>: <c>invalid_token</c>, <c>invalid_request</c>, or null.</summary>
    public string? Error { get; set; }

    /// <summary>The <c>error_description</c>, e.g. <c>The token expired</c>.</summary>
    public string? ErrorDescription { get; set; }

    /// <summary>The <c>error_uri</c>.</summary>
    public string? ErrorUri { get; set; }

    /// <summary>Whether the handler should leave the response alone.</summary>
    public bool Handled { get; private set; }

    /// <summary>Skip the handler's own challenge response.</summary>
    public void HandleResponse() => Handled = true;
}
