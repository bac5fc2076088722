using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace TokenGate.AspNetCore;

/// <summary>The context of <see cref="TokenGateEvents.MessageReceived"/>.</summary>
public sealed class MessageReceivedContext(HttpContext context, AuthenticationScheme scheme, TokenGateOptions options)
    : ResultContext<TokenGateOptions>(context, scheme, options)
{
    /// <summary>The token to check instead of looking in the request (header, query, form). Null: look in the request.</summary>
    public string? Token { get; set; }
}
