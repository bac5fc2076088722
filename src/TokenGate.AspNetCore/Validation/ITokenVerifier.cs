using System.Net;

namespace TokenGate.AspNetCore.Validation;

/// <summary>Checks a token for a caller, locally or remotely. Throws <see cref="TokenGateAuthenticationException"/> with
/// <see cref="TokenGateFailureReason.ServiceUnavailable"/> when it cannot tell now.</summary>
internal interface ITokenVerifier
{
    ValueTask<TokenVerdict> VerifyAsync(string token, IPAddress client, CancellationToken cancellationToken);
}

internal enum VerdictStatus
{
    Valid,
    Invalid,
    Expired,
}

/// <summary>A verifier's answer; the token's details are set when it is valid. Times are Unix seconds.</summary>
internal readonly record struct TokenVerdict(
    VerdictStatus Status,
    string? AccountName = null,
    string? TokenId = null,
    long IssuedAt = 0,
    long ExpiresAt = 0,
    IReadOnlyList<IPAddress>? Addresses = null)
{
    public static readonly TokenVerdict Invalid = new(VerdictStatus.Invalid);
    public static readonly TokenVerdict Expired = new(VerdictStatus.Expired);
}
