using TokenGate.Storage;

namespace TokenGate.Accounts;

/// <summary>
/// Account names are unique ignoring case for new accounts (ordinal-ignore-case: over the allowed ASCII set, A-Z against a-z);
/// accounts created before that (schema 10) may still clash, and are reported, never changed (issue 25, item 7).
/// </summary>
public static class AccountNameClashes
{
    /// <summary>How names are compared for uniqueness; lookups (<c>get</c>, the CLI) stay exact.</summary>
    public static StringComparer Comparer => StringComparer.OrdinalIgnoreCase;

    /// <summary>The groups of names that differ only in case, each in ordinal order; empty when there is none.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Find(IEnumerable<string> names) =>
        [.. names.GroupBy(name => name, Comparer)
            .Where(group => group.Count() > 1)
            .Select(group => (IReadOnlyList<string>)[.. group.Order(StringComparer.Ordinal)])
            .OrderBy(group => group[0], StringComparer.Ordinal)];

    public static async ValueTask<IReadOnlyList<IReadOnlyList<string>>> FindAsync(IAccountStore store, long now, CancellationToken cancellationToken) =>
        Find((await store.ListAccountsAsync(now, cancellationToken)).Select(account => account.Name));

    /// <summary>One line for an operator: which names clash and what to do.</summary>
    public static string Describe(IReadOnlyList<IReadOnlyList<string>> clashes) =>
        "account names that differ only in case, created before names were unique ignoring case: "
        + string.Join("; ", clashes.Select(group => string.Join(", ", group)))
        + ". They keep working, each by its exact name; remove all but one of each (tokengate account remove NAME) when its clients have moved.";
}
