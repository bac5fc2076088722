using TokenGate.Accounts;
using TokenGate.Caching;
using TokenGate.Security;
using TokenGate.Storage;
using TokenGate.Tokens;

namespace TokenGate.AspNetCore.Validation;

/// <summary>
/// A <see cref="TokenService"/> that can only check tokens. Issuing needs the sealing key and logging in needs the password
/// hasher; an API that only accepts tokens needs neither, so it runs without the server's key file.
/// </summary>
internal static class ValidationOnly
{
    public static TokenService CreateTokenService(ITokenGateStore store, TimeProvider time) =>
        new(store, NoPasswords.Instance, NoSealing.Instance, new TokenPolicyOptions(), PasswordPolicy.Default, time, new TokenCaches(new TokenCacheOptions()));

    private sealed class NoSealing : ITokenSealer
    {
        public static readonly NoSealing Instance = new();

        public byte[] Seal(string token, ReadOnlySpan<byte> digest) =>
            throw new NotSupportedException("TokenGate.AspNetCore validates tokens only; it never issues one.");

        public bool TryUnseal(ReadOnlySpan<byte> sealedToken, ReadOnlySpan<byte> digest, out string? token)
        {
            token = null;
            return false;
        }
    }

    private sealed class NoPasswords : IPasswordHasher
    {
        public static readonly NoPasswords Instance = new();

        public string Hash(string password) => throw new NotSupportedException("TokenGate.AspNetCore validates tokens only; it never checks a password.");

        public PasswordVerification Verify(string hash, string password) => PasswordVerification.Failed;
    }
}
