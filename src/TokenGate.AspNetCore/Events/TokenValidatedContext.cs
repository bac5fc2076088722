using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace TokenGate.AspNetCore;

/// <summary>
/// The context of <see cref="TokenGateEvents.TokenValidated"/>: <see cref="ResultContext{TOptions}.Principal"/> is the principal
/// about to be signed in; call <see cref="ResultContext{TOptions}.Fail(string)"/> to refuse it still.
/// </summary>
public sealed class TokenValidatedContext(HttpContext context, AuthenticationScheme scheme, TokenGateOptions options)
    : ResultContext<TokenGateOptions>(context, scheme, options)
{
    /// <summary>The account the token was issued to.</summary>
    public required string AccountName { get; init; }

    /// <summary>The token's non-secret id (16 hex characters).</summary>
    public required string TokenId { get; init; }

    /// <summary>When the token expires.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The addresses the token is bound to.</summary>
    public required IReadOnlyList<IPAddress> Addresses { get; init; }

    /// <summary>The caller's address, as checked against <see cref="Addresses"/>.</summary>
    public required IPAddress ClientAddress { get; init; }
}
