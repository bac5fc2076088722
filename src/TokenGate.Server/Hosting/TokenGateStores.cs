using TokenGate.Storage;
using TokenGate.Storage.Sqlite;

namespace TokenGate.Server.Hosting;

/// <summary>Chooses the store from the <c>--database</c> value. A file path means the embedded SQLite store.</summary>
public static class TokenGateStores
{
    public static ITokenGateStore Create(string database) => new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = database });

    public static string Describe(string database) => Path.GetFullPath(database);
}
