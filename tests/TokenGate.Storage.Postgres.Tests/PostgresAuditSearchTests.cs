using Npgsql;
using TokenGate.Testing;

namespace TokenGate.Storage.Postgres.Tests;

/// <summary>
/// The audit search on a trail large enough for PostgreSQL's planner to choose between its indexes by their statistics (the
/// shared suite's trail of six entries never makes it choose): narrow and wide time ranges, other filters beside them, deep
/// pages, and entries appended out of time order (instances whose clocks differ) must all give exactly the rule's answer
/// (<see cref="AuditQuery.Search"/>).
/// </summary>
public sealed class PostgresAuditSearchTests(PostgresFixture postgres)
{
    private const long Start = 1_767_225_600;
    private const int Entries = 60_000;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact(Timeout = 180_000)]
    public async Task Narrow_and_wide_time_ranges_other_filters_and_pages_find_exactly_the_rules_entries_when_times_are_out_of_order()
    {
        var (cluster, database, connectionString) = await postgres.CreateDatabaseAsync("audit_search");
        await using var store = new PostgresTokenGateStore(new PostgresStoreOptions { ConnectionString = connectionString });
        await store.InitializeAsync(Cancel);

        // Entry i one second after entry i-1, except every 7th, written by an instance whose clock is 40,000 s ahead; actions
        // and accounts in cycles.
        await using (var connection = await cluster.OpenAsync(database))
        {
            await using var insert = new NpgsqlCommand(
                $"""
                INSERT INTO audit (at, account, client, action, outcome)
                SELECT {Start} + i + CASE WHEN i % 7 = 0 THEN 40000 ELSE 0 END, 'acct-' || (i % 13), '10.0.0.' || (i % 5),
                       CASE WHEN i % 3 = 0 THEN 'delete' ELSE 'get' END, 'issued'
                FROM generate_series(1, {Entries}) i ORDER BY i
                """,
                connection);
            await insert.ExecuteNonQueryAsync(Cancel);
            await using var analyze = new NpgsqlCommand("ANALYZE audit", connection);
            await analyze.ExecuteNonQueryAsync(Cancel);
        }

        var all = await store.SearchAuditAsync(new AuditQuery(Limit: Entries), Cancel);
        Assert.Contains(all, r => r.Id == 2_401 && r.Entry.At == Start + 2_401 + 40_000);
        Assert.Equal(Entries, all.Count);

        AuditQuery[] queries =
        [
            new(From: Start + 30_000, To: Start + 31_000),                           // narrow, in the middle
            new(From: Start + 42_000, To: Start + 43_000, Limit: 2_000),             // narrow, with skewed entries far down
            new(From: Start + 30_000, To: Start + 31_000, Action: "delete", Limit: 500),
            new(From: Start + 30_000, To: Start + 31_000, BeforeId: 30_500),
            new(From: Start + 42_000, To: Start + 43_000, BeforeId: 2_401),         // a page after a skewed entry
            new(From: Start + 100, To: Start + Entries - 100, Limit: 200),           // wide
            new(From: Start + 100, To: Start + Entries - 100, Action: "delete", Account: "acct-4"),
            new(From: Start + 5_000),                                                // wide, with skewed entries
            new(To: Start + 2_000, Limit: 3_000),                                    // narrow, the oldest
            new(To: Start + Entries, BeforeId: 20_000),                              // wide, a deep page
            new(From: Start + Entries + 30_000),                                     // only skewed entries
            new(From: Start + 30_000, To: Start + 30_000),                           // empty
        ];
        foreach (var query in queries)
        {
            var expected = query.Search(all).ToList();

            var found = await store.SearchAuditAsync(query, Cancel);

            Assert.True(expected.Count == found.Count && expected.SequenceEqual(found), $"{query}: {found.Count} entries, expected {expected.Count}");
        }
    }
}
