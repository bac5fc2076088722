namespace TokenGate.Client;

/// <summary>
/// The token API's four actions, one HTTP request each, with no caching. Every failure is a <see cref="TokenClientException"/>:
/// a <see cref="TokenApiException"/> (or one of its subtypes) when the API answered with an error, a
/// <see cref="TokenTransportException"/> when no API answer came back.
/// </summary>
public interface ITokenApiClient
{
    /// <summary>The token API's URL.</summary>
    Uri Endpoint { get; }

    /// <summary>
    /// <c>get</c>: a token for the account, bound to <paramref name="addresses"/> if given, else to the address the request comes
    /// from. While the account holds a valid token for the same address set, the API returns that one with its expiry unchanged.
    /// </summary>
    /// <exception cref="TokenAuthenticationException">Wrong, missing or unknown username or password, or a disabled account.</exception>
    Task<AccessToken> GetTokenAsync(string username, string password, IEnumerable<string>? addresses = null, CancellationToken cancellationToken = default);

    /// <summary><c>validate</c>: whether <paramref name="token"/> is valid from here; returns when it expires (server clock).</summary>
    /// <exception cref="InvalidTokenException">Unknown, deleted or malformed, or not bound to this address.</exception>
    /// <exception cref="ExpiredTokenException">Past its expiry.</exception>
    Task<DateTimeOffset> ValidateTokenAsync(string token, CancellationToken cancellationToken = default);

    /// <summary><c>delete</c>: unauthorizes <paramref name="token"/> at once.</summary>
    /// <exception cref="InvalidTokenException">Unknown, deleted or malformed, or not bound to this address.</exception>
    /// <exception cref="ExpiredTokenException">Past its expiry.</exception>
    Task DeleteTokenAsync(string token, CancellationToken cancellationToken = default);

    /// <summary><c>newpass</c>: sets the password of the account that <paramref name="token"/> belongs to.</summary>
    /// <exception cref="InvalidTokenException">Unknown, deleted or malformed, or not bound to this address.</exception>
    /// <exception cref="ExpiredTokenException">Past its expiry.</exception>
    /// <exception cref="TokenApiException">The new password breaks the server's policy (<c>Bad argument: password</c>).</exception>
    Task ChangePasswordAsync(string token, string newPassword, CancellationToken cancellationToken = default);
}
