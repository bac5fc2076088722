namespace TokenGate.Accounts;

/// <summary>The rules for account names (usernames): 1–64 of letters, digits and <c>._@-</c>, compared ordinally.</summary>
public static class AccountName
{
    public const int MaxLength = 64;

    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '@' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
