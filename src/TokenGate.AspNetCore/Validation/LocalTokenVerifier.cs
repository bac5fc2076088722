using System.Net;
using TokenGate.Storage;
using TokenGate.Tokens;

namespace TokenGate.AspNetCore.Validation;

/// <summary>
/// Local mode: <see cref="TokenValidator.ValidateAsync"/> over TokenGate's own store, the same policy and the same code as the
/// server's <c>validate</c> (bound address first, then expiry). Its caches are keyed to the store's revocation epoch, so a token
/// deleted by any process is refused by the very next request: the revocation lag is zero.
/// </summary>
internal sealed class LocalTokenVerifier(TokenValidator tokens) : ITokenVerifier
{
    public async ValueTask<TokenVerdict> VerifyAsync(string token, IPAddress client, CancellationToken cancellationToken)
    {
        TokenValidation validation;
        try
        {
            validation = await tokens.ValidateAsync(token, client, cancellationToken);
        }
        catch (StorageUnavailableException exception)
        {
            throw new TokenGateAuthenticationException(TokenGateFailureReason.ServiceUnavailable, "The token store is unavailable.", exception);
        }

        return validation.Status switch
        {
            TokenStatus.Valid => new TokenVerdict(
                VerdictStatus.Valid,
                validation.Token!.AccountName,
                TokenValue.IdOf(validation.Token.Digest),
                validation.Token.IssuedAt,
                validation.Token.ExpiresAt,
                validation.Addresses!.Addresses),
            TokenStatus.Expired => TokenVerdict.Expired,
            _ => TokenVerdict.Invalid,
        };
    }
}
