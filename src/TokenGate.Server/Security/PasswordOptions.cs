using TokenGate.Accounts;

namespace TokenGate.Server.Security;

/// <summary>What passwords must be and how hard they are hashed; bound from the <c>Password*</c> settings.</summary>
public sealed class PasswordOptions
{
    public int MinLength { get; set; } = PasswordPolicy.Default.MinLength;

    public int MaxLength { get; set; } = PasswordPolicy.Default.MaxLength;

    /// <summary>PBKDF2 iterations of new hashes; older hashes with fewer are upgraded at the next successful login.</summary>
    public int HashIterations { get; set; } = IdentityPasswordHasher.DefaultIterations;

    /// <summary>How many password checks (PBKDF2) may run at once; 0 means one fewer than the processor count, at least one.</summary>
    public int HashConcurrency { get; set; }

    /// <summary>How long a password check waits for its turn before the request is answered 503.</summary>
    public TimeSpan HashWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary><see cref="HashConcurrency"/> with 0 resolved: one core is always left to everything else.</summary>
    public int ResolvedHashConcurrency => HashConcurrency > 0 ? HashConcurrency : Math.Max(1, Environment.ProcessorCount - 1);

    public PasswordPolicy Policy => new(MinLength, MaxLength);
}
