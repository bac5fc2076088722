using TokenGate.Storage;
using TokenGate.Storage.Sqlite;

namespace TokenGate.AspNetCore;

/// <summary>Local mode over the server's SQLite file: read-only use, never initialized, so the schema is neither created nor
/// migrated and no writer is started.</summary>
internal sealed class SqliteLocalTokenStoreFactory : ILocalTokenStoreFactory
{
    public ITokenLookupStore Open(string database) => new SqliteTokenGateStore(new SqliteStoreOptions { DatabasePath = database });
}
