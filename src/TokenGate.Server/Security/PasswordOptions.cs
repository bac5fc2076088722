using TokenGate.Accounts;

namespace TokenGate.Server.Security;

/// <summary>What passwords must be and how hard they are hashed; bound from the <c>Password*</c> settings.</summary>
public sealed class PasswordOptions
{
    public int MinLength { get; set; } = PasswordPolicy.Default.MinLength;

    public int MaxLength { get; set; } = PasswordPolicy.Default.MaxLength;

    /// <summary>PBKDF2 iterations of new hashes; older hashes with fewer are upgraded at the next successful login.</summary>
    public int HashIterations { get; set; } = IdentityPasswordHasher.DefaultIterations;

    public PasswordPolicy Policy => new(MinLength, MaxLength);
}
