using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGate.Server.Hosting;

namespace TokenGate.Testing;

/// <summary>
/// A real TokenGate server: Kestrel on 127.0.0.1 with a free port, its own SQLite file and key file in a temporary directory.
/// Tests talk to it over HTTP only; accounts are created through <see cref="AccountService"/>, as the operator CLI does.
/// </summary>
public sealed class TokenGateTestServer : IAsyncDisposable
{
    /// <summary>PBKDF2 iterations for test accounts: real hashing, cheap enough for hundreds of logins.</summary>
    public const int FastHashIterations = 1_000;

    private readonly TempDirectory? _ownedDirectory;

    private TokenGateTestServer(WebApplication app, TempDirectory? ownedDirectory, string directory, CapturedLogs logs, ManualTimeProvider? time)
    {
        App = app;
        _ownedDirectory = ownedDirectory;
        Directory = directory;
        Logs = logs;
        Time = time;
        Metrics = new ServerMetrics(app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public string Directory { get; }

    public string DatabasePath => Path.Combine(Directory, "tokengate.db");

    public CapturedLogs Logs { get; }

    public ManualTimeProvider? Time { get; }

    /// <summary>The server's own counters (requests by action, tokens issued), as recorded.</summary>
    public ServerMetrics Metrics { get; }

    public AccountService Accounts => App.Services.GetRequiredService<AccountService>();

    /// <summary>Starts a server. <paramref name="settings"/> are <c>TokenGate:</c> keys without the prefix (e.g. <c>TokenLifetime</c>).</summary>
    public static async Task<TokenGateTestServer> StartAsync(
        IReadOnlyDictionary<string, string?>? settings = null,
        ManualTimeProvider? time = null,
        string? directory = null,
        LogLevel minimumLevel = LogLevel.Information,
        Action<IServiceCollection>? customize = null)
    {
        var owned = directory is null ? new TempDirectory() : null;
        var root = directory ?? owned!.Path;
        var overrides = new Dictionary<string, string?>
        {
            ["TokenGate:Urls"] = "http://127.0.0.1:0",
            ["TokenGate:Database"] = Path.Combine(root, "tokengate.db"),
            ["TokenGate:PasswordHashIterations"] = FastHashIterations.ToString(System.Globalization.CultureInfo.InvariantCulture),

            // Every test client comes from 127.0.0.1 or 127.0.0.2 and many tests fail logins on purpose: brute-force protection
            // would slow them down. It is on by default in production; the tests of it turn it on ("LoginThrottle" = "true").
            ["TokenGate:LoginThrottle"] = "false",
            ["Logging:LogLevel:Default"] = minimumLevel.ToString(),
            ["Logging:LogLevel:Microsoft"] = minimumLevel.ToString(),
            ["Logging:LogLevel:Microsoft.AspNetCore"] = minimumLevel.ToString(),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            overrides[key.Contains(':', StringComparison.Ordinal) ? key : "TokenGate:" + key] = value;
        }

        var logs = new CapturedLogs();
        var app = await TokenGateApplication.BuildAsync(overrides, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(logs);
            if (time is not null)
            {
                builder.Services.AddSingleton<TimeProvider>(time);
            }

            // Registered before the server's own services, which only add what is missing (TryAdd): a test's store wins.
            customize?.Invoke(builder.Services);
        });
        await app.StartAsync();
        return new TokenGateTestServer(app, owned, root, logs, time);
    }

    public HttpClient CreateClient(IPAddress? source = null) => LoopbackClient.Create(BaseAddress, source);

    /// <summary>Creates an account the way <c>tokengate account add</c> does.</summary>
    public async Task CreateAccountAsync(string name, string password)
    {
        var change = await Accounts.CreateAsync(name, password, CancellationToken.None);
        if (change.Status != AccountChangeStatus.Done)
        {
            throw new InvalidOperationException($"Could not create test account {name}: {change.Status}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Metrics.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        _ownedDirectory?.Dispose();
    }
}
