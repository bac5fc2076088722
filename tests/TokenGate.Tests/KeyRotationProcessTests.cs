using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using TokenGate.Cli;
using TokenGate.Security;
using TokenGate.Server.Hosting;
using TokenGate.Storage;
using TokenGate.Testing;

namespace TokenGate.Tests;

/// <summary>
/// Sealing-key rotation (issue 18) across real processes: two <c>tokengate serve</c> instances on one database (SQLite file or
/// PostgreSQL), each with its own copy of the key file, while clients keep issuing and validating; the operator runs
/// <c>tokengate key</c> (a real process too) and reloads the instances with SIGHUP. And a ring that lacks the key of a live token:
/// refused on reload (the server keeps its ring) and at start (one line, exit code 2).
/// </summary>
[UnsupportedOSPlatform("windows")]
[Collection(PostgresClusterCollection.Name)]
public sealed class KeyRotationProcessTests(PostgresFixture postgres)
{
    private const int TestTimeout = 300_000;
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Retention = TimeSpan.FromSeconds(1);

    // A token is surely live until this long before the lifetime ends, counted from when its get was sent (the server counts whole seconds).
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(1.5);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<string> Stores => ["sqlite", "postgres"];

    [Theory(Timeout = TestTimeout)]
    [MemberData(nameof(Stores))]
    public async Task Rotation_under_load_fails_no_validation_loses_no_token_and_ends_with_the_old_key_retired(string store)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "SIGHUP is Unix only.");
        await using var deployment = await Deployment.StartAsync(postgres, store, instances: 2);
        await deployment.CliAsync("account", "add", "rotating", "--password", "the rotating password");
        var first = SealingKeyRing.Load(deployment.KeyFile(0)).Active;

        var load = new Load(deployment, workers: 8);
        var running = load.RunAsync();
        await Task.Delay(TimeSpan.FromSeconds(2), Cancel);

        // Phase 1: a new accepted key everywhere.
        var added = await deployment.CliAsync("key", "add");
        Assert.Contains("Added key 2", added, StringComparison.Ordinal);
        var second = SealingKeyRing.Load(deployment.KeyFile(0)).Keys.Single(k => k.Id == 2);
        Assert.Equal(SealingKeyState.Accepted, second.State);
        await deployment.ReloadAllAsync(new Regex($@"Reloaded the key ring .*: 1 \(active, {first.Fingerprint}\), 2 \(accepted, {second.Fingerprint}\)"));
        await Task.Delay(TimeSpan.FromSeconds(1.5), Cancel);

        // Phase 2: activate it everywhere.
        await deployment.CliAsync("key", "activate", "2");
        await deployment.ReloadAllAsync(new Regex($@"Reloaded the key ring .*: 1 \(accepted, {first.Fingerprint}\), 2 \(active, {second.Fingerprint}\)"));
        var activatedEverywhere = DateTimeOffset.UtcNow;

        // The old key still seals live tokens: retiring it is refused.
        Assert.Contains(load.FirstSeen, pair => pair.Key.StartsWith("01", StringComparison.Ordinal) && pair.Value + Lifetime - Margin > DateTimeOffset.UtcNow + TimeSpan.FromSeconds(5));
        var refused = await deployment.CliResultAsync("key", "retire", "1");
        Assert.True(refused.ExitCode == ExitCodes.Failed, $"retire exited {refused.ExitCode}: {refused.Output}{refused.Error}\ntokens seen: {string.Join(", ", load.FirstSeen.OrderBy(p => p.Value).Select(p => $"{p.Key[..2]}@{p.Value:HH:mm:ss.f}"))}");
        Assert.Contains("live token(s) still depend on key 1", refused.Error, StringComparison.Ordinal);

        // Phase 3: retire it after the longest lifetime plus retention.
        await Task.Delay(Lifetime + Retention + TimeSpan.FromSeconds(1.5), Cancel);
        var retired = await deployment.CliAsync("key", "retire", "1");
        Assert.Contains("Retired key 1", retired, StringComparison.Ordinal);
        await deployment.ReloadAllAsync(new Regex($@"Reloaded the key ring .*: 1 \(retired, {first.Fingerprint}\), 2 \(active, {second.Fingerprint}\)"));
        await Task.Delay(TimeSpan.FromSeconds(1.5), Cancel);

        // Listed while the load still runs, so that key 2 has live tokens whatever a loaded machine makes the CLI's start cost.
        var list = await deployment.CliResultAsync("key", "list");
        await load.StopAsync(running);

        Assert.Empty(load.Failures);
        Assert.True(load.Gets > 100, $"only {load.Gets} gets were made");
        var newTokens = load.FirstSeen.Where(pair => pair.Value > activatedEverywhere).Select(pair => pair.Key).ToList();
        Assert.Contains(load.FirstSeen.Keys, token => token.StartsWith("01", StringComparison.Ordinal));
        Assert.NotEmpty(newTokens);
        Assert.All(newTokens, token => Assert.StartsWith("02", token, StringComparison.Ordinal));

        // The stored key id: every token issued after the activation is sealed under key 2.
        await using (var opened = TokenGateStores.Create(deployment.Database))
        {
            await opened.InitializeAsync(Cancel);
            var sealedBy = await ((ISealingKeyUsage)opened).CountTokensBySealingKeyAsync(activatedEverywhere.ToUnixTimeSeconds() + (long)Lifetime.TotalSeconds + 1, Cancel);
            Assert.Equal([second.Fingerprint], sealedBy.Keys);
        }

        var audit = await deployment.CliAsync("audit", "--limit", "2000");
        Assert.Equal(ExitCodes.Ok, list.ExitCode);
        Assert.Equal(["1", first.Fingerprint, "retired", "-", "0"], list.RowsStartingWith("1").Single());
        var active = list.RowsStartingWith("2").Single();
        Assert.Equal((second.Fingerprint, "active"), (active[1], active[2]));
        Assert.True(long.Parse(active[4], System.Globalization.CultureInfo.InvariantCulture) > 0);
        using (var file = System.Text.Json.JsonDocument.Parse(File.ReadAllText(deployment.KeyFile(0))))
        {
            var material = file.RootElement.GetProperty("keys")[1].GetProperty("key").GetString()!;
            Assert.DoesNotContain(material, list.Output + audit, StringComparison.Ordinal);
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(deployment.KeyFile(0)));
        Assert.Null(SealingKeyRing.Load(deployment.KeyFile(1)).Keys.Single(k => k.Id == 1).Key);

        Assert.Contains($"key.add 2 ({second.Fingerprint})", audit, StringComparison.Ordinal);
        Assert.Contains($"key.activate 2 ({second.Fingerprint})", audit, StringComparison.Ordinal);
        Assert.Contains($"key.retire 1 ({first.Fingerprint})", audit, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_ring_lacking_the_key_of_a_live_token_is_refused_on_reload_and_at_start_until_the_operator_gives_those_tokens_up()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "SIGHUP is Unix only.");
        await using var deployment = await Deployment.StartAsync(postgres, "sqlite", instances: 1);
        await deployment.CliAsync("account", "add", "holder", "--password", "the holder password");
        var api = deployment.Api(0, IPAddress.Parse("127.0.11.1"));
        var token = (await api.GetTokenAsync("holder", "the holder password")).Token!;
        var old = SealingKeyRing.Load(deployment.KeyFile(0)).Active;

        // A ring of another key, copied in while the server runs: refused, and the token keeps validating.
        var other = SealingKeyRing.OfOne(SealingKey.Generate());
        other.Save(deployment.KeyFile(0));
        await deployment.ReloadAllAsync(new Regex($@"Refused the key ring in .* on SIGHUP, keeping 1 \(active, {old.Fingerprint}\): the key ring lacks the sealing key {old.Fingerprint} \(1 live token\(s\)\)"));
        Assert.True((await api.ValidateAsync(token)).Success);

        // At start: one line, exit code 2.
        var (exitCode, output, error) = await deployment.RestartExpectingExitAsync(0);
        Assert.Equal(ExitCodes.BadConfiguration, exitCode);
        CliAssert.NoStackFrame(output, error);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(
            $"error: {deployment.KeyFile(0)}: the key ring lacks the sealing key {old.Fingerprint} (1 live token(s)); restore a ring that holds it (from a backup or another instance), or give those tokens up with: tokengate key retire {old.Fingerprint} --force.",
            line);

        var list = await deployment.CliAsync("key", "list");
        Assert.Contains("missing", list, StringComparison.Ordinal);
        var notForced = await deployment.CliResultAsync("key", "retire", old.Fingerprint);
        Assert.Equal(ExitCodes.Failed, notForced.ExitCode);
        var forced = await deployment.CliAsync("key", "retire", old.Fingerprint, "--force");
        Assert.Contains("1 token(s) sealed under it stop validating once the instances reload, and will be re-issued on their next get.", forced, StringComparison.Ordinal);

        await deployment.RestartAsync(0);
        api = deployment.Api(0, IPAddress.Parse("127.0.11.1"));
        Assert.False((await api.ValidateAsync(token)).Success);
        var reissued = await api.GetTokenAsync("holder", "the holder password");
        Assert.True(reissued.Success);
        Assert.NotEqual(token, reissued.Token);
        Assert.True((await api.ValidateAsync(reissued.Token!)).Success);
    }

    /// <summary>Clients that keep getting and validating tokens on every instance, each from its own address, and what went wrong.</summary>
    private sealed class Load(Deployment deployment, int workers)
    {
        private readonly CancellationTokenSource _stop = new();
        private int _gets;

        public ConcurrentQueue<string> Failures { get; } = new();

        /// <summary>Each token value and when the get that first returned it was sent.</summary>
        public ConcurrentDictionary<string, DateTimeOffset> FirstSeen { get; } = new();

        public int Gets => Volatile.Read(ref _gets);

        public Task RunAsync() => Task.WhenAll(Enumerable.Range(0, workers).Select(WorkAsync));

        public async Task StopAsync(Task running)
        {
            await _stop.CancelAsync();
            await running;
        }

        private async Task WorkAsync(int worker)
        {
            var address = IPAddress.Parse($"127.0.10.{worker + 1}");
            var apis = Enumerable.Range(0, deployment.Instances).Select(i => deployment.Api(i, address)).ToArray();
            string? held = null;
            var heldLiveUntil = DateTimeOffset.MinValue;
            for (var round = 0; !_stop.IsCancellationRequested; round++)
            {
                var sent = DateTimeOffset.UtcNow;
                var got = await apis[round % apis.Length].GetTokenAsync("rotating", "the rotating password");
                Interlocked.Increment(ref _gets);
                if (!got.Success || got.Token is null)
                {
                    Failures.Enqueue($"get on instance {round % apis.Length} failed: {got.Error}");
                    continue;
                }

                if (held is not null && got.Token != held && sent < heldLiveUntil)
                {
                    Failures.Enqueue($"lost token {held[..2]}…: a get on instance {round % apis.Length} issued another while it was live");
                }

                if (FirstSeen.TryAdd(got.Token, sent) || got.Token != held)
                {
                    held = got.Token;
                    heldLiveUntil = FirstSeen[got.Token] + Lifetime - Margin;
                }

                for (var i = 0; i < apis.Length; i++)
                {
                    var checkedAt = DateTimeOffset.UtcNow;
                    var validation = await apis[i].ValidateAsync(held);
                    if (!validation.Success && checkedAt < heldLiveUntil)
                    {
                        Failures.Enqueue($"a live token of key {held[..2]} failed validation on instance {i}: {validation.Error}");
                    }
                }

                await Task.Delay(20);
            }
        }
    }

    /// <summary>Real <c>tokengate serve</c> processes on one database, each with its own copy of the key file.</summary>
    private sealed class Deployment : IAsyncDisposable
    {
        private readonly TempDirectory _directory;
        private readonly Dictionary<string, string> _environment;
        private readonly TokenGateProcess[] _instances;
        private readonly Uri[] _addresses;

        private Deployment(TempDirectory directory, string database, Dictionary<string, string> environment, TokenGateProcess[] instances, Uri[] addresses)
        {
            _directory = directory;
            Database = database;
            _environment = environment;
            _instances = instances;
            _addresses = addresses;
        }

        public string Database { get; }

        public int Instances => _instances.Length;

        public static async Task<Deployment> StartAsync(PostgresFixture postgres, string store, int instances)
        {
            var directory = new TempDirectory("tokengate-keyring");
            var database = store == "postgres" ? (await postgres.CreateDatabaseAsync("keyring")).ConnectionString : directory.File("tokengate.db");
            SealingKey.LoadOrCreate(directory.File("key-0"));
            var environment = new Dictionary<string, string>
            {
                ["TOKENGATE_PASSWORD_HASH_ITERATIONS"] = "1000",
                ["TOKENGATE_TOKEN_LIFETIME"] = $"{(int)Lifetime.TotalSeconds}s",
                ["TOKENGATE_EXPIRED_RETENTION"] = $"{(int)Retention.TotalSeconds}s",
            };

            var deployment = new Deployment(directory, database, environment, new TokenGateProcess[instances], new Uri[instances]);
            deployment.CopyKeyFile();

            // The first instance creates the schema; the others start on it.
            for (var i = 0; i < instances; i++)
            {
                await deployment.StartInstanceAsync(i);
            }

            return deployment;
        }

        /// <summary>Instance <paramref name="instance"/>'s copy of the key file; the operator's commands write key-0.</summary>
        public string KeyFile(int instance) => _directory.File($"key-{instance}");

        public TokenApiClient Api(int instance, IPAddress source) => new(LoopbackClient.Create(_addresses[instance], source), mode: SendMode.PostForm);

        /// <summary>Copies the operator's key file to every other instance (mode 0600), then sends each SIGHUP and waits for <paramref name="logged"/>.</summary>
        public async Task ReloadAllAsync(Regex logged)
        {
            CopyKeyFile();
            foreach (var instance in _instances)
            {
                var before = logged.Matches(instance.Output).Count;
                Assert.Equal(0, (await ExternalTool.RunAsync("kill", "-HUP", instance.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))).ExitCode);
                var stopwatch = Stopwatch.StartNew();
                while (logged.Matches(instance.Output).Count == before)
                {
                    Assert.False(instance.HasExited, $"tokengate exited on SIGHUP.\nstdout:\n{instance.Output}\nstderr:\n{instance.Error}");
                    Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"tokengate did not log /{logged}/ after SIGHUP.\nstdout:\n{instance.Output}");
                    await Task.Delay(50);
                }
            }
        }

        public async Task RestartAsync(int instance)
        {
            await _instances[instance].KillAsync();
            _instances[instance].Dispose();
            await StartInstanceAsync(instance);
        }

        /// <summary>Stops an instance and starts it again expecting it to refuse: its exit code and what it wrote.</summary>
        public async Task<(int ExitCode, string Output, string Error)> RestartExpectingExitAsync(int instance)
        {
            await _instances[instance].KillAsync();
            _instances[instance].Dispose();
            _instances[instance] = TokenGateProcess.Start(_directory.Path, _environment, ServeArgs(instance));
            return await WaitForExitAsync(_instances[instance]);
        }

        /// <summary>Runs <c>tokengate</c> as its own process (with the servers' settings), on the operator's key file; fails unless it exits 0.</summary>
        public async Task<string> CliAsync(params string[] args)
        {
            var result = await CliResultAsync(args);
            Assert.True(result.ExitCode == ExitCodes.Ok, $"tokengate {string.Join(' ', args)} exited {result.ExitCode}: {result.Error}");
            return result.Output;
        }

        public async Task<CliResult> CliResultAsync(params string[] args)
        {
            using var process = TokenGateProcess.Start(_directory.Path, _environment, [.. args, "--database", Database, .. args[0] == "key" ? new[] { "--key-file", KeyFile(0) } : []]);
            var (exitCode, output, error) = await WaitForExitAsync(process);
            return new CliResult(exitCode, output, error);
        }

        public ValueTask DisposeAsync()
        {
            foreach (var instance in _instances)
            {
                instance?.Dispose();
            }

            _directory.Dispose();
            return ValueTask.CompletedTask;
        }

        private string[] ServeArgs(int instance) => ["serve", "--urls", "http://127.0.0.1:0", "--database", Database, "--key-file", KeyFile(instance)];

        private async Task StartInstanceAsync(int instance)
        {
            _instances[instance] = TokenGateProcess.Start(_directory.Path, _environment, ServeArgs(instance));
            _addresses[instance] = await _instances[instance].WaitForListeningAsync(TimeSpan.FromSeconds(60));
        }

        private void CopyKeyFile()
        {
            for (var i = 1; i < _instances.Length; i++)
            {
                File.Copy(KeyFile(0), KeyFile(i), overwrite: true);
                File.SetUnixFileMode(KeyFile(i), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        private static async Task<(int ExitCode, string Output, string Error)> WaitForExitAsync(TokenGateProcess process)
        {
            var stopwatch = Stopwatch.StartNew();
            while (!process.HasExited)
            {
                Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(60), $"tokengate did not exit.\nstdout:\n{process.Output}\nstderr:\n{process.Error}");
                await Task.Delay(50);
            }

            // Let the output readers catch up with the last lines.
            await Task.Delay(200);
            return (process.ExitCode, process.Output, process.Error);
        }
    }
}
