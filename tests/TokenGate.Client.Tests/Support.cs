using System.Net;
using Microsoft.Extensions.Logging;
using TokenGate.Client;
using TokenGate.Testing;

namespace TokenGate.Client.Tests;

/// <summary>One real TokenGate server shared by a test class; each test makes accounts of its own.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private TokenGateTestServer? _server;

    public TokenGateTestServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync() => _server = await TokenGateTestServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public Task<Account> NewAccountAsync() => Server.NewAccountAsync();
}

public sealed record Account(string Name, string Password)
{
    public override string ToString() => Name;
}

public static class Clients
{
    public static async Task<Account> NewAccountAsync(this TokenGateTestServer server)
    {
        var account = new Account("user-" + Guid.NewGuid().ToString("N")[..12], "pw-" + Guid.NewGuid().ToString("N"));
        await server.CreateAccountAsync(account.Name, account.Password);
        return account;
    }

    public static TokenClientOptions Options(
        this TokenGateTestServer server,
        Account account,
        TokenFormat format = TokenFormat.Json,
        TokenRequestMethod method = TokenRequestMethod.Post,
        string path = "token.php")
    {
        var options = new TokenClientOptions
        {
            Endpoint = new Uri(server.BaseAddress, path),
            Username = account.Name,
            Password = account.Password,
            Format = format,
            RequestMethod = method,
            RenewalJitter = TimeSpan.Zero,
        };
        return options;
    }

    /// <summary>An HttpClient to the server from a chosen loopback address, with extra handlers in front (outermost first).</summary>
    public static HttpClient Http(IPAddress? source = null, params DelegatingHandler[] handlers)
    {
        HttpMessageHandler inner = LoopbackClient.CreateHandler(source ?? LoopbackClient.First);
        for (var i = handlers.Length - 1; i >= 0; i--)
        {
            handlers[i].InnerHandler = inner;
            inner = handlers[i];
        }

        return new HttpClient(inner) { Timeout = TimeSpan.FromSeconds(30) };
    }

    public static ITokenApiClient Api(this TokenGateTestServer server, TokenFormat format = TokenFormat.Json, TokenRequestMethod method = TokenRequestMethod.Post, IPAddress? source = null, string path = "token.php") =>
        TokenClients.CreateApiClient(Http(source), new TokenClientOptions { Endpoint = new Uri(server.BaseAddress, path), Format = format, RequestMethod = method });

    public static ILoggerFactory Loggers(CapturedLogs logs) => LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
}

/// <summary>Gives the token API's answers the server's (manual) clock in their Date header, as a real server's would be.</summary>
public sealed class ServerDateHandler(ManualTimeProvider serverTime) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        response.Headers.Date = serverTime.GetUtcNow();
        return response;
    }
}

/// <summary>Holds requests until released, and can fail the first ones: to make callers overlap, or a fetch fail.</summary>
public sealed class GateHandler : DelegatingHandler
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failures;
    private int _requests;

    public GateHandler(bool closed = false, int failFirst = 0)
    {
        _failures = failFirst;
        if (!closed)
        {
            _release.SetResult();
        }
    }

    public Task Entered => _entered.Task;

    public int Requests => Volatile.Read(ref _requests);

    public void Release() => _release.TrySetResult();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        _entered.TrySetResult();
        await _release.Task.WaitAsync(cancellationToken);
        if (Interlocked.Decrement(ref _failures) >= 0)
        {
            throw new HttpRequestException("Simulated connection failure");
        }

        return await base.SendAsync(request, cancellationToken);
    }
}
