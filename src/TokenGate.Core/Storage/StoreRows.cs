using System.Data.Common;
using TokenGate.Tokens;

namespace TokenGate.Storage;

/// <summary>
/// The row mappings every SQL store shares, over the provider's <see cref="DbDataReader"/> positioned on a row. Each names the
/// columns it expects, in order; a store's <c>SELECT</c> lists them so.
/// </summary>
public static class StoreRows
{
    /// <summary><c>digest, account_id, name, enabled, addresses, issued_at, expires_at, allowed_networks</c>.</summary>
    public static StoredToken StoredToken(DbDataReader reader) => new(
        (byte[])reader.GetValue(0),
        reader.GetInt64(1),
        reader.GetString(2),
        reader.GetBoolean(3),
        reader.GetString(4),
        reader.GetInt64(5),
        reader.GetInt64(6),
        reader.IsDBNull(7) ? null : reader.GetString(7));

    /// <summary>The policy columns <c>allowed_networks, token_lifetime, max_tokens</c> starting at <paramref name="first"/>.</summary>
    public static TokenGate.Accounts.AccountPolicy AccountPolicy(DbDataReader reader, int first) => TokenGate.Accounts.AccountPolicy.FromStored(
        reader.IsDBNull(first) ? null : reader.GetString(first),
        reader.IsDBNull(first + 1) ? null : reader.GetInt64(first + 1),
        reader.IsDBNull(first + 2) ? null : reader.GetInt64(first + 2));

    /// <summary><c>digest, name, addresses, issued_at, expires_at</c>; the digest becomes the token's non-secret id.</summary>
    public static TokenSummary TokenSummary(DbDataReader reader) =>
        new(TokenValue.IdOf((byte[])reader.GetValue(0)), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4));

    /// <summary><c>at, account, client, action, outcome, token_id, operator</c>, starting at <paramref name="first"/>.</summary>
    public static AuditEntry AuditEntry(DbDataReader reader, int first) => new(
        reader.GetInt64(first),
        NullableString(reader, first + 1),
        NullableString(reader, first + 2),
        reader.GetString(first + 3),
        reader.GetString(first + 4),
        NullableString(reader, first + 5),
        NullableString(reader, first + 6));

    /// <summary><c>id, at, account, client, action, outcome, token_id, operator</c>.</summary>
    public static AuditRecord AuditRecord(DbDataReader reader) => new(reader.GetInt64(0), AuditEntry(reader, 1));

    /// <summary>The audit trail's columns in the order <see cref="AuditEntry(DbDataReader, int)"/> reads them.</summary>
    public const string AuditColumns = "at, account, client, action, outcome, token_id, operator";

    /// <summary><c>name, created_at</c>.</summary>
    public static Operators.OperatorSummary OperatorSummary(DbDataReader reader) => new(reader.GetString(0), reader.GetInt64(1));

    /// <summary><c>id, name, password_hash, created_at, credential_stamp</c>.</summary>
    public static Operators.OperatorRecord OperatorRecord(DbDataReader reader) =>
        new(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetString(4));

    /// <summary><c>name, enabled, created_at, active tokens, introspect, allowed_networks, token_lifetime, max_tokens</c>.</summary>
    public static AccountSummary AccountSummary(DbDataReader reader) =>
        new(reader.GetString(0), reader.GetBoolean(1), reader.GetInt64(2), reader.GetInt32(3), reader.GetBoolean(4)) { Policy = AccountPolicy(reader, 5) };

    private static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>Every remaining row of <paramref name="reader"/>, mapped.</summary>
    public static async Task<IReadOnlyList<T>> ReadAllAsync<T>(DbDataReader reader, Func<DbDataReader, T> map, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    /// <summary>Every remaining row of <paramref name="reader"/>, mapped, read synchronously (SQLite, whose reads never wait on I/O
    /// worth an await).</summary>
    public static IReadOnlyList<T> ReadAll<T>(DbDataReader reader, Func<DbDataReader, T> map)
    {
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(map(reader));
        }

        return rows;
    }
}
