using System.Security.Cryptography;

namespace TokenGate.Accounts;

/// <summary>What a password must be to be accepted, and how TokenGate generates one.</summary>
public sealed class PasswordPolicy
{
    private const string GeneratedAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    public static PasswordPolicy Default { get; } = new();

    public PasswordPolicy(int minLength = 8, int maxLength = 128)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, minLength);
        MinLength = minLength;
        MaxLength = maxLength;
    }

    public int MinLength { get; }

    public int MaxLength { get; }

    /// <summary>
    /// Whether <paramref name="password"/> may be set as the password of <paramref name="accountName"/>: its length, no control
    /// characters, not one of the <see cref="CommonPasswords"/> and not the account's own name (both ignoring case; OWASP ASVS
    /// 5.0 6.2.4, NIST SP 800-63B 5.1.1.2).
    /// </summary>
    public bool Accepts(string? password, string? accountName = null) =>
        password is not null
        && password.Length >= MinLength
        && password.Length <= MaxLength
        && !password.Any(char.IsControl)
        && !CommonPasswords.Contains(password)
        && !string.Equals(password, accountName, StringComparison.OrdinalIgnoreCase);

    /// <summary>A password that is accepted and carries about 160 bits of entropy (28 characters of a 57-letter alphabet).</summary>
    public string Generate()
    {
        var length = Math.Clamp(28, MinLength, MaxLength);
        return RandomNumberGenerator.GetString(GeneratedAlphabet, length);
    }

    /// <summary>
    /// The password to set for <paramref name="name"/>: <paramref name="password"/> when the policy accepts it, or a generated one
    /// when it is null (returned as <c>Generated</c> too, to be shown once).
    /// </summary>
    public (bool Accepted, string Password, string? Generated) Choose(string? password, string name)
    {
        if (password is null)
        {
            var generated = Generate();
            return (true, generated, generated);
        }

        return (Accepts(password, name), password, null);
    }

    /// <summary>The rules in words, for an error message; <paramref name="whose"/> is what the name belongs to (an account, an operator).</summary>
    public string Describe(string whose = "account") => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{MinLength} to {MaxLength} characters, no control characters, not one of the {CommonPasswords.Count:N0} most common passwords nor the {whose}'s name");
}
