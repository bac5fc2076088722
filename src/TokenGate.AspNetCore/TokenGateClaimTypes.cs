namespace TokenGate.AspNetCore;

/// <summary>
/// The claims of a principal authenticated by a TokenGate token, besides <see cref="System.Security.Claims.ClaimTypes.Name"/> and
/// <see cref="System.Security.Claims.ClaimTypes.NameIdentifier"/> (both the account name). The token's value is never a claim.
/// </summary>
public static class TokenGateClaimTypes
{
    /// <summary>The token's non-secret id: the first 8 bytes of its SHA-256 digest in hex (16 characters), as in TokenGate's logs,
    /// <c>tokengate token list</c> and the audit trail.</summary>
    public const string TokenId = "tokengate:token_id";

    /// <summary>When the token expires, in Unix seconds (as JWT's <c>exp</c>).</summary>
    public const string Expires = "exp";
}
