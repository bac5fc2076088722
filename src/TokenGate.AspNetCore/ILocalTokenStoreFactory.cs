using TokenGate.Storage;

namespace TokenGate.AspNetCore;

/// <summary>
/// Opens the store that local mode reads from <see cref="TokenGateOptions.Database"/>. The <c>TokenGate.AspNetCore.Sqlite</c>
/// package registers one for the server's SQLite file (<c>AddTokenGateSqlite()</c>); without it, local mode takes its store from
/// DI, so an API in remote mode carries no database driver.
/// </summary>
public interface ILocalTokenStoreFactory
{
    /// <summary>
    /// A store over <paramref name="database"/> (a full path), for reading only: never initialized, so nothing is created or
    /// migrated. Called once per database; the handler disposes the store with the application when it is
    /// <see cref="IAsyncDisposable"/>.
    /// </summary>
    ITokenLookupStore Open(string database);
}
