using System.Runtime.Versioning;
using TokenGate.Cli;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// Backups of the SQLite store with the real executable: <c>tokengate backup</c> while the server serves and issues tokens,
/// restored as docs/OPERATIONS.md says (stop, remove the old -wal and -shm, copy the backup and the key in place, start), after
/// which every token issued before the backup validates; and after a clean stop the <c>.db</c> file alone holds everything.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class BackupTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);
    private const string Password = "alice's long password";

    [Fact(Timeout = 240_000)]
    public async Task Backup_while_serving_then_restore_every_token_issued_before_it_validates()
    {
        using var directory = new TempDirectory("tokengate-backup");
        var database = directory.File("tokengate.db");
        var backup = directory.File("backups/tokengate-backup.db");
        Directory.CreateDirectory(Path.GetDirectoryName(backup)!);
        Assert.Equal(0, (await CliWorkspace.InvokeAsync(["account", "add", "alice", "--password", Password, "--database", database], string.Empty)).ExitCode);

        var tokens = new List<string>();
        using (var server = TokenGateProcess.Start(directory.Path, "serve", "--urls", "http://127.0.0.1:0", "--database", database))
        {
            using var http = LoopbackClient.Create(await server.WaitForListeningAsync(StartTimeout));
            var api = new TokenApiClient(http);
            for (var i = 0; i < 40; i++)
            {
                tokens.Add((await api.GetTokenAsync("alice", Password, $"127.0.0.1, 10.0.0.{i}")).Token!);
            }

            // The server keeps writing while the backup copies.
            using var stop = new CancellationTokenSource();
            var writing = Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    await api.GetTokenAsync("alice", Password, $"127.0.0.1, 10.1.{i / 250}.{i % 250}");
                }
            });
            await Task.Delay(200);
            var result = await CliWorkspace.InvokeAsync(["backup", backup, "--database", database], string.Empty);
            await stop.CancelAsync();
            await writing;

            Assert.Equal((ExitCodes.Ok, string.Empty), (result.ExitCode, result.Error));
            Assert.Contains($"Backed up {database} to {backup}", result.Output, StringComparison.Ordinal);
            Assert.Contains(directory.File("tokengate.key"), result.Output, StringComparison.Ordinal);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(backup));
            Assert.Equal(0, await server.TerminateAsync(StopTimeout));
        }

        // Restore into a fresh folder, as the documented steps do: the backup as tokengate.db, the key beside it.
        using var restored = new TempDirectory("tokengate-restore");
        File.Copy(backup, restored.File("tokengate.db"));
        File.Copy(directory.File("tokengate.key"), restored.File("tokengate.key"));
        File.SetUnixFileMode(restored.File("tokengate.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.False(File.Exists(restored.File("tokengate.db-wal")));

        using (var server = TokenGateProcess.Start(restored.Path, "serve", "--urls", "http://127.0.0.1:0", "--database", restored.File("tokengate.db")))
        {
            using var http = LoopbackClient.Create(await server.WaitForListeningAsync(StartTimeout));
            var api = new TokenApiClient(http);
            foreach (var token in tokens)
            {
                var validated = await api.ValidateAsync(token);
                Assert.True(validated.Success, $"token {tokens.IndexOf(token)}: {validated.Error}");
            }

            Assert.True((await api.GetTokenAsync("alice", Password)).Success);
            Assert.Equal(0, await server.TerminateAsync(StopTimeout));
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task After_a_clean_stop_a_copy_of_the_db_file_alone_holds_the_accounts_and_tokens()
    {
        using var directory = new TempDirectory("tokengate-backup");
        var database = directory.File("tokengate.db");
        Assert.Equal(0, (await CliWorkspace.InvokeAsync(["account", "add", "alice", "--password", Password, "--database", database], string.Empty)).ExitCode);

        var tokens = new List<string>();
        using (var server = TokenGateProcess.Start(directory.Path, "serve", "--urls", "http://127.0.0.1:0", "--database", database))
        {
            using var http = LoopbackClient.Create(await server.WaitForListeningAsync(StartTimeout));
            var api = new TokenApiClient(http);
            for (var i = 0; i < 10; i++)
            {
                tokens.Add((await api.GetTokenAsync("alice", Password, $"127.0.0.1, 10.0.0.{i}")).Token!);
            }

            Assert.Equal(0, await server.TerminateAsync(StopTimeout));
        }

        Assert.False(File.Exists(database + "-wal"), "a clean stop should checkpoint the WAL into the database and remove it.");

        // Only the .db file (and the key, kept apart): no -wal is copied.
        using var copy = new TempDirectory("tokengate-copy");
        File.Copy(database, copy.File("tokengate.db"));
        File.Copy(directory.File("tokengate.key"), copy.File("tokengate.key"));
        File.SetUnixFileMode(copy.File("tokengate.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var list = await CliWorkspace.InvokeAsync(["account", "list", "--database", copy.File("tokengate.db")], string.Empty);
        Assert.Equal(ExitCodes.Ok, list.ExitCode);
        Assert.Contains("alice", list.Output, StringComparison.Ordinal);

        using var restarted = TokenGateProcess.Start(copy.Path, "serve", "--urls", "http://127.0.0.1:0", "--database", copy.File("tokengate.db"));
        using var client = LoopbackClient.Create(await restarted.WaitForListeningAsync(StartTimeout));
        var restartedApi = new TokenApiClient(client);
        foreach (var token in tokens)
        {
            Assert.True((await restartedApi.ValidateAsync(token)).Success);
        }
    }

    [Fact]
    public async Task Backup_of_a_PostgreSQL_database_points_to_pg_dump_without_showing_the_password()
    {
        var result = await CliWorkspace.InvokeAsync(["backup", "tokengate.dump", "--database", "postgres://tokengate:s3cret-pw@127.0.0.1:1/tokengate"], string.Empty);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Contains("pg_dump", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", result.Output + result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists("tokengate.dump"));
    }

    [Fact]
    public async Task Backup_of_a_missing_database_creates_neither_it_nor_the_copy()
    {
        using var directory = new TempDirectory("tokengate-backup");
        var database = directory.File("missing.db");

        var result = await CliWorkspace.InvokeAsync(["backup", directory.File("copy.db"), "--database", database], string.Empty);

        Assert.Equal(ExitCodes.StorageUnavailable, result.ExitCode);
        Assert.Equal($"error: there is no SQLite database at {database}; check --database (TOKENGATE_DATABASE).\n", result.Error);
        Assert.Empty(Directory.GetFiles(directory.Path));
    }
}
