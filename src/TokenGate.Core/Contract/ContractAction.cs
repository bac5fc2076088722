namespace TokenGate.Contract;

/// <summary>The four actions of the token API, parsed once per request.</summary>
public enum ContractAction
{
    /// <summary>A missing or unknown action: <c>Bad argument: action</c>.</summary>
    Other,
    Validate,
    Get,
    Delete,
    Newpass,
}

public static class ContractActions
{
    /// <summary>The action named by <paramref name="text"/>, ignoring case; <see cref="ContractAction.Other"/> for anything else.</summary>
    public static ContractAction Parse(string? text) => text switch
    {
        null => ContractAction.Other,
        _ when string.Equals(text, "validate", StringComparison.OrdinalIgnoreCase) => ContractAction.Validate,
        _ when string.Equals(text, "get", StringComparison.OrdinalIgnoreCase) => ContractAction.Get,
        _ when string.Equals(text, "delete", StringComparison.OrdinalIgnoreCase) => ContractAction.Delete,
        _ when string.Equals(text, "newpass", StringComparison.OrdinalIgnoreCase) => ContractAction.Newpass,
        _ => ContractAction.Other,
    };

    /// <summary>The action as a metric tag or log word: one of the four, or <c>other</c> (never the raw text a client sent).</summary>
    public static string Name(this ContractAction action) => action switch
    {
        ContractAction.Validate => "validate",
        ContractAction.Get => "get",
        ContractAction.Delete => "delete",
        ContractAction.Newpass => "newpass",
        _ => "other",
    };
}
