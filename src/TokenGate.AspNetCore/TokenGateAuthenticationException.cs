namespace TokenGate.AspNetCore;

/// <summary>Why a request carrying a token was not authenticated.</summary>
public enum TokenGateFailureReason
{
    /// <summary>Unknown, deleted, revoked or malformed, of a disabled account, or not bound to the caller's address.</summary>
    InvalidToken,

    /// <summary>Past its expiry (and bound to the caller's address).</summary>
    ExpiredToken,

    /// <summary>Different tokens in more than one place (header, query, form): RFC 6750 §2 allows one method per request.</summary>
    ConflictingTokens,

    /// <summary>The token could not be checked now: the store or the introspection endpoint is unavailable or refused us.</summary>
    ServiceUnavailable,
}

/// <summary>
/// The <see cref="Microsoft.AspNetCore.Authentication.AuthenticateResult.Failure"/> of a refused token. Its message never holds the
/// token.
/// </summary>
public sealed class TokenGateAuthenticationException : Exception
{
    public TokenGateAuthenticationException(TokenGateFailureReason reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
    }

    public TokenGateFailureReason Reason { get; }
}
