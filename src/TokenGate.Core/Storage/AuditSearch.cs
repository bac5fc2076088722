namespace TokenGate.Storage;

/// <summary>
/// The SQL filter of an <see cref="AuditQuery"/>, for every SQL store: one condition per filter given (none for the others, so
/// that the planner can use the filter's index), each against a parameter named after it; the store says how a parameter is
/// written (<c>$account</c>, <c>@account</c>).
/// </summary>
public static class AuditSearch
{
    /// <summary><c> WHERE ...</c> for the filters <paramref name="query"/> gives, or an empty string.</summary>
    public static string Where(AuditQuery query, Func<string, string> parameter)
    {
        var conditions = new List<string>();
        foreach (var (name, _) in Parameters(query))
        {
            conditions.Add(name switch
            {
                "from" => $"at >= {parameter(name)}",
                "to" => $"at < {parameter(name)}",
                "before" => $"id < {parameter(name)}",
                _ => $"{name} = {parameter(name)}",
            });
        }

        return conditions.Count == 0 ? string.Empty : " WHERE " + string.Join(" AND ", conditions);
    }

    /// <summary>The parameters of the filters <paramref name="query"/> gives, by name (also the column's, for the text ones).</summary>
    public static IEnumerable<(string Name, object Value)> Parameters(AuditQuery query)
    {
        if (query.Account is not null)
        {
            yield return ("account", query.Account);
        }

        if (query.Action is not null)
        {
            yield return ("action", query.Action);
        }

        if (query.Outcome is not null)
        {
            yield return ("outcome", query.Outcome);
        }

        if (query.Client is not null)
        {
            yield return ("client", query.Client);
        }

        if (query.From is { } from)
        {
            yield return ("from", from);
        }

        if (query.To is { } to)
        {
            yield return ("to", to);
        }

        if (query.BeforeId is { } before)
        {
            yield return ("before", before);
        }
    }
}
