namespace TokenGate.Accounts;

/// <summary>Hashes and verifies account passwords. The server's implementation is ASP.NET Core Identity's PBKDF2 <c>PasswordHasher</c>.</summary>
public interface IPasswordHasher
{
    string Hash(string password);

    /// <summary>Checks <paramref name="password"/> against <paramref name="hash"/> in time that does not depend on where they differ.</summary>
    PasswordVerification Verify(string hash, string password);
}

public enum PasswordVerification
{
    Failed,
    Success,

    /// <summary>The password is right, but its hash was made with weaker parameters than today's: store a new one.</summary>
    SuccessRehashNeeded,
}
