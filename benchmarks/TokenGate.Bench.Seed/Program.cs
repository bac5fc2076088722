// Seeds a TokenGate database for the load benchmarks (benchmarks/run.sh): a SQLite file, or an empty PostgreSQL database
// named by a connection string (as `tokengate --database` takes it):
//   1. the real schema, through the store's own InitializeAsync (SqliteTokenGateStore or PostgresTokenGateStore);
//   2. the accounts, through the real AccountService (PBKDF2 hashes with the production iteration count):
//      "bench" (get of an existing token), issuer-00.. (get issuing new tokens), holder-00.. (owners of the seeded tokens);
//   3. N tokens, tagged under the server's key as the server tags them, bulk-inserted in one transaction (SQLite: one prepared
//      INSERT; PostgreSQL: binary COPY) with their real SHA-256 digest and their value sealed under that key (AES-256-GCM), bound to 127.0.0.1 and valid for the next 12 hours,
//      spread over the holder accounts;
//   4. a working set: W of those tokens picked at random, one per line, for the wrk scripts.
// Every account gets the password in the BENCH_PASSWORD environment variable, and the database may be given in BENCH_DATABASE
// instead of --database: both kept off the command line (a connection string holds a password).
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using TokenGate;
using TokenGate.Accounts;
using TokenGate.Security;
using TokenGate.Server.Hosting;
using TokenGate.Server.Security;
using TokenGate.Storage.Postgres;
using TokenGate.Tokens;

var options = SeedOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(
        "usage: TokenGate.Bench.Seed --database PATH|CONNECTION-STRING --key-file PATH --tokens N --working-set W --working-set-file PATH [--issuers K] [--holders H]\n" +
        "       (BENCH_PASSWORD in the environment: the password of every account; BENCH_DATABASE may replace --database)");
    return 2;
}

var password = Environment.GetEnvironmentVariable("BENCH_PASSWORD");
if (string.IsNullOrEmpty(password) || !PasswordPolicy.Default.Accepts(password))
{
    Console.Error.WriteLine("BENCH_PASSWORD must hold a password the default policy accepts (8 to 128 characters).");
    return 2;
}

var clock = Stopwatch.StartNew();
var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

// 1 and 2: schema and accounts through TokenGate's own code, with the store `tokengate serve` picks for this --database.
var isPostgres = TokenGateStores.IsPostgres(options.Database);
var database = isPostgres ? WithSeedingTimeouts(options.Database) : options.Database;
var holders = Enumerable.Range(0, options.Holders).Select(i => $"holder-{i:D2}").ToArray();
var accountNames = new[] { "bench" }.Concat(Enumerable.Range(0, options.Issuers).Select(i => $"issuer-{i:D2}")).Concat(holders).ToArray();
await using (var store = TokenGateStores.Create(database))
{
    await store.InitializeAsync(CancellationToken.None);
    var accounts = new AccountService(store, new IdentityPasswordHasher(), PasswordPolicy.Default, new TokenPolicyOptions(), TimeProvider.System);
    var created = await Task.WhenAll(accountNames.Select(name => Task.Run(async () => await accounts.CreateAsync(name, password, CancellationToken.None))));
    if (created.FirstOrDefault(change => change.Status != AccountChangeStatus.Done) is { } failed)
    {
        Console.Error.WriteLine($"Could not create the accounts: {failed} (seed into a new file or an empty database).");
        return 1;
    }
}

Console.WriteLine($"schema and {accountNames.Length} accounts: {clock.Elapsed.TotalSeconds:F1} s");

// 3: the tokens. Digests and sealed values are computed on every core, then written by one connection in one transaction.
clock.Restart();
var key = SealingKey.LoadOrCreate(options.KeyFile);
using var sealer = new AesGcmTokenSealer(key);
var tagger = new TokenTagger(key);
var tokens = new string[options.Tokens];
var digests = new byte[options.Tokens][];
var sealedValues = new byte[options.Tokens][];
Parallel.For(0, options.Tokens, i =>
{
    var token = TokenValue.Generate(tagger);
    var digest = TokenValue.ComputeDigest(token);
    tokens[i] = token;
    digests[i] = digest;
    sealedValues[i] = sealer.Seal(token, digest);
});

Console.WriteLine($"{options.Tokens:N0} tokens generated and sealed: {clock.Elapsed.TotalSeconds:F1} s");
clock.Restart();

// Issued during the last 10 minutes, with the default 12-hour lifetime: all valid for the whole run.
var random = new Random(options.Tokens);
var issuedAt = new long[options.Tokens];
for (var i = 0; i < options.Tokens; i++)
{
    issuedAt[i] = now - random.Next(0, 600);
}

var seeded = new SeededTokens(holders, digests, sealedValues, issuedAt, (long)TokenPolicyOptions.DefaultLifetime.TotalSeconds);
if (isPostgres)
{
    InsertIntoPostgres(database, seeded);
}
else
{
    InsertIntoSqlite(database, seeded);
}

Console.WriteLine($"{options.Tokens:N0} tokens inserted: {clock.Elapsed.TotalSeconds:F1} s");

// 4: the working set, a uniform sample without replacement (a partial Fisher-Yates shuffle).
var sample = new Random(options.Tokens + 1);
var count = Math.Min(options.WorkingSet, options.Tokens);
for (var i = 0; i < count; i++)
{
    var j = sample.Next(i, tokens.Length);
    (tokens[i], tokens[j]) = (tokens[j], tokens[i]);
}

await File.WriteAllLinesAsync(options.WorkingSetFile, tokens.Take(count));
Console.WriteLine($"working set: {count:N0} random tokens of {options.Tokens:N0} in {options.WorkingSetFile}");
return 0;

static void InsertIntoSqlite(string database, SeededTokens seeded)
{
    using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ConnectionString);
    connection.Open();
    Execute(connection, "PRAGMA synchronous = OFF; PRAGMA cache_size = -524288; PRAGMA foreign_keys = ON;");
    var holderIds = new long[seeded.Holders.Count];
    for (var i = 0; i < holderIds.Length; i++)
    {
        using var find = connection.CreateCommand();
        find.CommandText = "SELECT id FROM accounts WHERE name = $name";
        find.Parameters.AddWithValue("$name", seeded.Holders[i]);
        holderIds[i] = (long)find.ExecuteScalar()!;
    }

    using var transaction = connection.BeginTransaction();
    using var insert = connection.CreateCommand();
    insert.Transaction = transaction;
    insert.CommandText =
        """
        INSERT INTO tokens (digest, account_id, addresses, sealed, issued_at, expires_at)
        VALUES ($digest, $account, '127.0.0.1', $sealed, $issued, $expires)
        """;
    var digestParameter = insert.Parameters.Add("$digest", SqliteType.Blob);
    var accountParameter = insert.Parameters.Add("$account", SqliteType.Integer);
    var sealedParameter = insert.Parameters.Add("$sealed", SqliteType.Blob);
    var issuedParameter = insert.Parameters.Add("$issued", SqliteType.Integer);
    var expiresParameter = insert.Parameters.Add("$expires", SqliteType.Integer);
    insert.Prepare();
    for (var i = 0; i < seeded.Count; i++)
    {
        digestParameter.Value = seeded.Digests[i];
        accountParameter.Value = holderIds[i % holderIds.Length];
        sealedParameter.Value = seeded.SealedValues[i];
        issuedParameter.Value = seeded.IssuedAt[i];
        expiresParameter.Value = seeded.IssuedAt[i] + seeded.LifetimeSeconds;
        insert.ExecuteNonQuery();
    }

    transaction.Commit();

    // The server starts on a checkpointed file, as after a clean shutdown, not on a WAL of the whole seed.
    Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;");

    static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

// TokenGate's defaults for a PostgreSQL connection string, except its timeouts: a server's 5 seconds would fail the seeding on
// a busy machine (75 accounts created at once, each opening a connection) and cut short COPY and VACUUM of a million rows.
static string WithSeedingTimeouts(string database)
{
    var builder = PostgresConnectionString.Parse(database);
    builder.Timeout = 60;
    builder.CommandTimeout = 0;
    return builder.ConnectionString;
}

// One binary COPY (one transaction) into the table PostgresSchema created, then VACUUM ANALYZE and a CHECKPOINT: the servers
// start on a table with its statistics and visibility map, and no checkpoint of the whole seed falls into the measured rounds.
static void InsertIntoPostgres(string database, SeededTokens seeded)
{
    var builder = PostgresConnectionString.Parse(database);
    builder.Pooling = false;
    builder.ApplicationName = "tokengate bench seed";
    using var connection = new NpgsqlConnection(builder.ConnectionString);
    connection.Open();

    var holderIds = new Dictionary<string, long>(StringComparer.Ordinal);
    using (var find = new NpgsqlCommand("SELECT name, id FROM accounts WHERE name = ANY($1)", connection))
    {
        find.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. seeded.Holders] });
        using var reader = find.ExecuteReader();
        while (reader.Read())
        {
            holderIds[reader.GetString(0)] = reader.GetInt64(1);
        }
    }

    var holderIdList = seeded.Holders.Select(name => holderIds[name]).ToArray();
    using (var writer = connection.BeginBinaryImport("COPY tokens (digest, account_id, addresses, sealed, issued_at, expires_at) FROM STDIN (FORMAT BINARY)"))
    {
        writer.Timeout = TimeSpan.Zero;
        for (var i = 0; i < seeded.Count; i++)
        {
            writer.StartRow();
            writer.Write(seeded.Digests[i], NpgsqlDbType.Bytea);
            writer.Write(holderIdList[i % holderIdList.Length], NpgsqlDbType.Bigint);
            writer.Write("127.0.0.1", NpgsqlDbType.Text);
            writer.Write(seeded.SealedValues[i], NpgsqlDbType.Bytea);
            writer.Write(seeded.IssuedAt[i], NpgsqlDbType.Bigint);
            writer.Write(seeded.IssuedAt[i] + seeded.LifetimeSeconds, NpgsqlDbType.Bigint);
        }

        writer.Complete();
    }

    foreach (var sql in new[] { "VACUUM (ANALYZE) tokens", "VACUUM (ANALYZE) accounts", "CHECKPOINT" })
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}

internal sealed record SeededTokens(IReadOnlyList<string> Holders, byte[][] Digests, byte[][] SealedValues, long[] IssuedAt, long LifetimeSeconds)
{
    public int Count => Digests.Length;
}

internal sealed record SeedOptions(string Database, string KeyFile, int Tokens, int WorkingSet, string WorkingSetFile, int Issuers, int Holders)
{
    public static SeedOptions? Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                return null;
            }

            values[args[i][2..]] = args[i + 1];
        }

        var database = values.GetValueOrDefault("database") ?? Environment.GetEnvironmentVariable("BENCH_DATABASE");
        if (args.Length % 2 != 0
            || string.IsNullOrEmpty(database)
            || !values.TryGetValue("key-file", out var keyFile)
            || !values.TryGetValue("working-set-file", out var workingSetFile)
            || !TryCount(values, "tokens", null, out var tokens)
            || !TryCount(values, "working-set", null, out var workingSet)
            || !TryCount(values, "issuers", 16, out var issuers)
            || !TryCount(values, "holders", 10, out var holders)
            || holders < 1)
        {
            return null;
        }

        return new SeedOptions(database, keyFile, tokens, workingSet, workingSetFile, issuers, holders);
    }

    private static bool TryCount(Dictionary<string, string> values, string name, int? fallback, out int count)
    {
        if (!values.TryGetValue(name, out var text))
        {
            count = fallback ?? 0;
            return fallback is not null;
        }

        return int.TryParse(text, out count) && count >= 0;
    }
}
