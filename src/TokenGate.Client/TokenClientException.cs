using System.Net;

namespace TokenGate.Client;

/// <summary>
/// A token API call failed. Catch this to handle every failure; catch a subtype to tell them apart. No message of this family
/// holds a password or a token.
/// </summary>
public abstract class TokenClientException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, without secrets.</param>
    /// <param name="action">The API action: <c>get</c>, <c>validate</c>, <c>delete</c> or <c>newpass</c>.</param>
    /// <param name="statusCode">The HTTP status, if a response came back.</param>
    /// <param name="innerException">The cause, if any.</param>
    protected TokenClientException(string message, string action, HttpStatusCode? statusCode, Exception? innerException)
        : base(message, innerException)
    {
        Action = action;
        StatusCode = statusCode;
    }

    /// <summary>The API action: <c>get</c>, <c>validate</c>, <c>delete</c> or <c>newpass</c>.</summary>
    public string Action { get; }

    /// <summary>The HTTP status, if a response came back.</summary>
    public HttpStatusCode? StatusCode { get; }
}

/// <summary>
/// The API answered with an error (<c>"success": false</c>). <see cref="Error"/> is the server's text, such as
/// <c>Bad argument: address</c>, <c>Too many tokens</c> or <c>Service unavailable</c>. The errors a client acts on have their own
/// subtypes.
/// </summary>
public class TokenApiException : TokenClientException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, without secrets.</param>
    /// <param name="action">The API action.</param>
    /// <param name="error">The server's error text, as it sent it.</param>
    /// <param name="statusCode">The HTTP status (200 for most API errors).</param>
    /// <param name="retryAfter">The server's <c>Retry-After</c>, if it sent one.</param>
    public TokenApiException(string message, string action, string error, HttpStatusCode statusCode, TimeSpan? retryAfter = null)
        : base(message, action, statusCode, innerException: null)
    {
        Error = error;
        RetryAfter = retryAfter;
    }

    /// <summary>The server's error text, as it sent it.</summary>
    public string Error { get; }

    /// <summary>How long the server asked the client to wait before trying again (<c>Retry-After</c>), if it said.</summary>
    public TimeSpan? RetryAfter { get; }
}

/// <summary><c>Authentication failure</c>: wrong, missing or unknown username or password, or a disabled account.</summary>
public sealed class TokenAuthenticationException(string message, string action, string error, HttpStatusCode statusCode)
    : TokenApiException(message, action, error, statusCode);

/// <summary>
/// <c>Invalid token</c> (or <c>Unknown token</c>): the token is unknown, deleted or malformed, or not bound to the address the
/// request came from.
/// </summary>
public sealed class InvalidTokenException(string message, string action, string error, HttpStatusCode statusCode)
    : TokenApiException(message, action, error, statusCode);

/// <summary><c>Expired token</c>: the token is past its expiry.</summary>
public sealed class ExpiredTokenException(string message, string action, string error, HttpStatusCode statusCode)
    : TokenApiException(message, action, error, statusCode);

/// <summary>HTTP 429: the server is rate-limiting this client. Wait <see cref="TokenApiException.RetryAfter"/> (when given) before trying again.</summary>
public sealed class TokenRateLimitedException(string message, string action, string error, HttpStatusCode statusCode, TimeSpan? retryAfter)
    : TokenApiException(message, action, error, statusCode, retryAfter);

/// <summary>
/// No API answer came back: the server could not be reached, the request timed out, or the response was not a token API body
/// (an HTML error page from a proxy, say). The cause, if any, is the inner exception.
/// </summary>
public sealed class TokenTransportException(string message, string action, HttpStatusCode? statusCode = null, Exception? innerException = null)
    : TokenClientException(message, action, statusCode, innerException);
