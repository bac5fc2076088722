using TokenGate.Accounts;

namespace TokenGate.Core.Tests.Fakes;

/// <summary>
/// A transparent "hash" (a prefix and the password) that counts every verification, so that tests can see how many
/// verifications each path costs and against which hash. Hashes with the <see cref="OldPrefix"/> verify but ask for a rehash.
/// </summary>
public sealed class CountingPasswordHasher : IPasswordHasher
{
    public const string Prefix = "v2:";
    public const string OldPrefix = "v1:";

    private readonly Lock _lock = new();
    private readonly List<string> _verifiedHashes = [];
    private readonly List<string> _madeHashes = [];

    public int VerifyCount
    {
        get
        {
            lock (_lock)
            {
                return _verifiedHashes.Count;
            }
        }
    }

    /// <summary>The hash argument of every <see cref="Verify"/> call, in order.</summary>
    public IReadOnlyList<string> VerifiedHashes
    {
        get
        {
            lock (_lock)
            {
                return [.. _verifiedHashes];
            }
        }
    }

    /// <summary>Every hash <see cref="Hash"/> returned, in order.</summary>
    public IReadOnlyList<string> MadeHashes
    {
        get
        {
            lock (_lock)
            {
                return [.. _madeHashes];
            }
        }
    }

    /// <summary>Runs inside <see cref="Verify"/>: lets a test change the world between verification and issue.</summary>
    public Action? OnVerify { get; set; }

    public static string HashOf(string password) => Prefix + password;

    public string Hash(string password)
    {
        var hash = HashOf(password);
        lock (_lock)
        {
            _madeHashes.Add(hash);
        }

        return hash;
    }

    public PasswordVerification Verify(string hash, string password)
    {
        lock (_lock)
        {
            _verifiedHashes.Add(hash);
        }

        OnVerify?.Invoke();
        if (string.Equals(hash, Prefix + password, StringComparison.Ordinal))
        {
            return PasswordVerification.Success;
        }

        return string.Equals(hash, OldPrefix + password, StringComparison.Ordinal) ? PasswordVerification.SuccessRehashNeeded : PasswordVerification.Failed;
    }
}
