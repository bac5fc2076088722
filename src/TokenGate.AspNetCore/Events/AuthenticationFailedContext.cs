using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace TokenGate.AspNetCore;

/// <summary>
/// The context of <see cref="TokenGateEvents.AuthenticationFailed"/>. Leave the result unset to fail with <see cref="Exception"/>.
/// </summary>
public sealed class AuthenticationFailedContext(HttpContext context, AuthenticationScheme scheme, TokenGateOptions options)
    : ResultContext<TokenGateOptions>(context, scheme, options)
{
    /// <summary>What went wrong: a <see cref="TokenGateAuthenticationException"/> for a refused token, or the unexpected error.</summary>
    public required Exception Exception { get; set; }
}
