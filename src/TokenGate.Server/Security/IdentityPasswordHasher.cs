using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using TokenGate.Accounts;

namespace TokenGate.Server.Security;

/// <summary>
/// Account passwords hashed with ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/>: PBKDF2 with HMAC-SHA512, a
/// 128-bit salt and (by default) 100,000 iterations, compared in fixed time. A hash made with fewer iterations than configured
/// verifies and is upgraded on the next successful login.
/// </summary>
public sealed class IdentityPasswordHasher : IPasswordHasher
{
    public const int DefaultIterations = 100_000;
    public const int MinimumIterations = 1_000;

    private static readonly object Owner = new();
    private readonly PasswordHasher<object> _hasher;

    public IdentityPasswordHasher(int iterations = DefaultIterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinimumIterations);
        _hasher = new PasswordHasher<object>(Options.Create(new PasswordHasherOptions
        {
            CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
            IterationCount = iterations,
        }));
    }

    public string Hash(string password) => _hasher.HashPassword(Owner, password);

    public PasswordVerification Verify(string hash, string password) => _hasher.VerifyHashedPassword(Owner, hash, password) switch
    {
        PasswordVerificationResult.Success => PasswordVerification.Success,
        PasswordVerificationResult.SuccessRehashNeeded => PasswordVerification.SuccessRehashNeeded,
        _ => PasswordVerification.Failed,
    };
}
