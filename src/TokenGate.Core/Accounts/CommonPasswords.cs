using System.Collections.Frozen;

namespace TokenGate.Accounts;

/// <summary>
/// The passwords an attacker tries first: the list shipped in <c>Accounts/Data/common-passwords.txt</c> (from SecLists; its
/// source and licence are in <c>common-passwords.SOURCE.md</c> beside it), compared ignoring case, so that <c>Password1</c> is
/// refused with <c>password1</c>. Loaded once, on first use.
/// </summary>
public static class CommonPasswords
{
    private const string ResourceName = "TokenGate.Accounts.common-passwords.txt";

    private static readonly Lazy<FrozenSet<string>> List = new(Load);

    /// <summary>How many passwords the list holds.</summary>
    public static int Count => List.Value.Count;

    public static bool Contains(string password) => List.Value.Contains(password);

    private static FrozenSet<string> Load()
    {
        using var stream = typeof(CommonPasswords).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The common-password list ({ResourceName}) is missing from the assembly.");
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        var words = new List<string>(17_000);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                words.Add(line);
            }
        }

        return words.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }
}
