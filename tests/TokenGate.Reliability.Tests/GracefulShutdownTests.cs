using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using TokenGate.Testing;

namespace TokenGate.Reliability.Tests;

/// <summary>
/// Issue 8.5: SIGTERM under load, as a service manager or container runtime sends it. Requests in flight when the signal
/// arrives are finished — proven with <c>get</c>s whose bodies are only half sent at that moment and completed afterwards, which
/// must still be answered with a token — the process exits with code 0 well within the host's shutdown timeout, nothing is
/// answered with a 5xx, and after a restart on the same database every acknowledged token validates.
/// </summary>
public sealed class GracefulShutdownTests
{
    private const int Clients = 4;
    private const int HalfSent = 4;
    private const string Password = "shutdown client password";
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(20);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact(Timeout = ReliabilityProfile.TestTimeoutMilliseconds)]
    public async Task Sigterm_under_load_finishes_requests_in_flight_exits_cleanly_and_loses_no_acknowledged_token()
    {
        await using var deployment = Deployment.Sqlite(new Dictionary<string, string> { ["TOKENGATE_MAX_ACTIVE_TOKENS_PER_ACCOUNT"] = "1000000" });
        await deployment.AddAccountsAsync(Enumerable.Range(0, Clients).Select(i => ($"shutdown{i}", Password)).Append(("inflight", Password)));
        var served = await deployment.StartAsync();

        var ledger = new TokenLedger();
        var answers = new List<(TimeSpan SentAt, Answer Answer)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, Clients).Select(i => Task.Run(() => LoadAsync(i, served.BaseAddress, ledger, answers, clock, stop.Token), CancellationToken.None)).ToList();

        // Requests that are certainly in flight at the signal: headers and half the form body sent, the rest held back.
        await Task.Delay(TimeSpan.FromSeconds(2), Cancel);
        var inFlight = new List<HalfSentGet>();
        for (var i = 0; i < HalfSent; i++)
        {
            inFlight.Add(await HalfSentGet.StartAsync(served.BaseAddress, "inflight", Password, $"127.0.0.1, 198.51.100.{i + 1}"));
        }

        await Task.Delay(TimeSpan.FromMilliseconds(300), Cancel);
        var signalled = clock.Elapsed;
        var exit = served.Process.TerminateAsync(TimeSpan.FromSeconds(60));

        // The server is shutting down now; the held-back halves arrive later, and must still be answered.
        await Task.Delay(TimeSpan.FromMilliseconds(500), Cancel);
        var finished = await Task.WhenAll(inFlight.Select(r => r.FinishAsync(ClientTimeout)));
        var exitCode = await exit;
        var exited = clock.Elapsed;
        await stop.CancelAsync();
        await Task.WhenAll(load);

        foreach (var (answer, set) in finished.Zip(inFlight.Select(r => r.AddressSet)))
        {
            if (answer.Acknowledged)
            {
                ledger.Acknowledge("inflight", set, answer.Contract!.Token!, answer.Contract.Expire!.Value, "half sent at SIGTERM");
            }
        }

        // Restarted on the same database: every acknowledged token is there.
        var restarted = await deployment.StartAsync();
        using var http = LoopbackClient.Create(restarted.BaseAddress, timeout: ClientTimeout);
        var lost = await ledger.CountLostAsync(http, restarted.BaseAddress, Cancel);

        Assert.Equal(0, await restarted.Process.TerminateAsync(TimeSpan.FromSeconds(30)));

        List<(TimeSpan SentAt, Answer Answer)> all;
        lock (answers)
        {
            all = [.. answers];
        }

        var afterSignal = all.Where(a => a.SentAt + a.Answer.Took > signalled).ToList();
        Figures.Report(
            "Graceful shutdown (SIGTERM under load, SQLite)",
            $"{all.Count:N0} requests from {Clients} clients, {all.Count(a => a.Answer.Acknowledged):N0} answered 200 success; "
            + $"{HalfSent} gets half sent at SIGTERM and completed {Figures.Milliseconds(TimeSpan.FromMilliseconds(500))} later: {finished.Count(a => a.Acknowledged)} answered with a token; "
            + $"requests overlapping the signal answered {afterSignal.Count(a => a.Answer.Responded)}, refused or closed once the server stopped accepting "
            + $"{afterSignal.Count(a => !a.Answer.Responded)}; exit code {exitCode} {Figures.Milliseconds(exited - signalled)} after SIGTERM; "
            + $"tokens checked after restart {ledger.Count:N0}, lost = {lost}.");

        var failures = new List<string>();
        failures.AddRange(finished.Where(a => !a.Acknowledged).Select(a => $"a get in flight at SIGTERM was not finished: {a}"));
        failures.AddRange(all.Where(a => a.Answer.Responded && !a.Answer.Acknowledged).Select(a => $"at {a.SentAt}: {a.Answer}"));
        failures.AddRange(all.Where(a => !a.Answer.Responded && a.SentAt + TimeSpan.FromMilliseconds(100) < signalled).Select(a => $"cut off before the signal, at {a.SentAt}: {a.Answer}"));
        failures.AddRange(ledger.Violations);
        Assert.True(failures.Count == 0, $"{failures.Count} failure(s):\n{string.Join("\n", failures.Take(30))}\n\nserver log:\n{deployment.Logs()}");
        Assert.Equal(0, exitCode);
        Assert.True(exited - signalled < TimeSpan.FromSeconds(15), $"the server took {exited - signalled} to stop");
        Assert.DoesNotContain("fail: ", served.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("crit: ", served.Process.Output, StringComparison.Ordinal);
        Assert.True(all.Count(a => a.Answer.Acknowledged) > 100, "the load did not reach the server");
    }

    private static async Task LoadAsync(int index, Uri baseAddress, TokenLedger ledger, List<(TimeSpan, Answer)> answers, Stopwatch clock, CancellationToken stop)
    {
        var account = $"shutdown{index}";
        var mine = new List<string>();
        using var http = LoopbackClient.Create(baseAddress, timeout: ClientTimeout);
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var sentAt = clock.Elapsed;
            Answer answer;
            if (n % 3 == 2 && mine.Count > 0)
            {
                answer = await TokenCalls.ValidateAsync(http, baseAddress, mine[n % mine.Count], cancellationToken: CancellationToken.None);
            }
            else
            {
                var set = $"127.0.0.1, 10.{index}.{n / 250 % 250}.{n % 250 + 1}";
                answer = await TokenCalls.GetAsync(http, baseAddress, account, Password, set, cancellationToken: CancellationToken.None);
                if (answer.Acknowledged)
                {
                    ledger.Acknowledge(account, set, answer.Contract!.Token!, answer.Contract.Expire!.Value, "under load");
                    mine.Add(answer.Contract.Token!);
                }
            }

            lock (answers)
            {
                answers.Add((sentAt, answer));
            }

            if (!answer.Responded)
            {
                // The server has stopped accepting: this client is done.
                return;
            }
        }
    }

    /// <summary>A <c>get</c> sent over a raw connection in two parts: the headers and half the form body, then the rest.</summary>
    private sealed class HalfSentGet : IDisposable
    {
        private readonly TcpClient _connection;
        private readonly byte[] _rest;
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        private HalfSentGet(TcpClient connection, byte[] rest, string addressSet)
        {
            _connection = connection;
            _rest = rest;
            AddressSet = addressSet;
        }

        public string AddressSet { get; }

        public static async Task<HalfSentGet> StartAsync(Uri baseAddress, string username, string password, string addressSet)
        {
            var body = Encoding.ASCII.GetBytes($"action=get&username={Uri.EscapeDataString(username)}&password={Uri.EscapeDataString(password)}&address={Uri.EscapeDataString(addressSet)}");
            var head = Encoding.ASCII.GetBytes(
                $"POST /token.php HTTP/1.1\r\nHost: {baseAddress.Authority}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {body.Length}\r\n\r\n");
            var connection = new TcpClient();
            await connection.ConnectAsync(baseAddress.Host, baseAddress.Port, Cancel);
            var stream = connection.GetStream();
            await stream.WriteAsync(head, Cancel);
            await stream.WriteAsync(body.AsMemory(0, body.Length / 2), Cancel);
            await stream.FlushAsync(Cancel);
            return new HalfSentGet(connection, body[(body.Length / 2)..], addressSet);
        }

        /// <summary>Sends the rest of the body and reads the whole response (the server closes the connection as it stops).</summary>
        public async Task<Answer> FinishAsync(TimeSpan timeout)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
            deadline.CancelAfter(timeout);
            try
            {
                var stream = _connection.GetStream();
                await stream.WriteAsync(_rest, deadline.Token);
                using var received = new MemoryStream();
                await stream.CopyToAsync(received, deadline.Token);
                var (responses, remainder) = await RawHttp.ParseAsync(received.ToArray());
                if (responses is not [var response])
                {
                    return new Answer(0, string.Empty, null, _clock.Elapsed, remainder ?? $"{responses.Count} responses", null);
                }

                var (contract, failure) = TokenCalls.Parse(response.BodyText, xml: false);
                return new Answer(response.Status, response.BodyText, contract, _clock.Elapsed, failure, response.Header("Retry-After"));
            }
            catch (Exception exception) when (exception is IOException or SocketException or OperationCanceledException)
            {
                return new Answer(0, string.Empty, null, _clock.Elapsed, exception.Message, null);
            }
            finally
            {
                Dispose();
            }
        }

        public void Dispose() => _connection.Dispose();
    }
}
