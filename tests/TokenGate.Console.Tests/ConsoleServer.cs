using Microsoft.Playwright;
using TokenGate.Accounts;
using TokenGate.Operators;
using TokenGate.Server.Security;
using TokenGate.Testing;

namespace TokenGate.OperatorConsole.Tests;

/// <summary>
/// A real <c>tokengate serve</c> on 127.0.0.1 (a free port; loopback only, so the console is on by default) with a temporary
/// SQLite file and an operator <c>admin</c>, and Debian's chromium driven by Playwright. The operator is put in the database
/// before the server starts, through <see cref="OperatorService"/>, as <c>tokengate operator add</c> does; everything after
/// that goes through HTTP and the browser.
/// </summary>
public sealed class ConsoleServer : IAsyncLifetime
{
    public const string Operator = "admin";
    public const string OperatorPassword = "console operator password 1";
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>A second operator, whose password the session test changes under a running server.</summary>
    public const string SecondOperator = "bob";

    /// <summary>Accounts made before the server starts, for the paging test (and a fuller overview).</summary>
    public const int BulkAccounts = 120;

    private readonly TempDirectory _directory = new();
    private TokenGateProcess? _process;
    private IPlaywright? _playwright;

    public Uri BaseAddress { get; private set; } = default!;

    public IBrowser Browser { get; private set; } = default!;

    public TokenGateProcess Process => _process!;

    public string DatabasePath => Path.Combine(_directory.Path, "tokengate.db");

    /// <summary>Settings for the server: cheap hashing, and a throttle that refuses a name from an address after 3 failures.</summary>
    public static Dictionary<string, string> Environment() => new()
    {
        ["TOKENGATE_PASSWORD_HASH_ITERATIONS"] = "1000",
        ["TOKENGATE_LOGIN_DELAY_AFTER"] = "3",
        ["TOKENGATE_LOGIN_BLOCK_AFTER"] = "3",
    };

    public async ValueTask InitializeAsync()
    {
        await AddOperatorAsync(DatabasePath, Operator, OperatorPassword);
        await AddOperatorAsync(DatabasePath, SecondOperator, OperatorPassword);
        await using (var store = TokenGateStores.Create(DatabasePath))
        {
            await store.InitializeAsync(CancellationToken.None);
            var accounts = new AccountService(store, new IdentityPasswordHasher(1000), new PasswordPolicy(), new TokenGate.Tokens.TokenPolicyOptions(), TimeProvider.System);
            for (var i = 0; i < BulkAccounts; i++)
            {
                await accounts.CreateAsync($"bulk-{i:D3}", password: null, CancellationToken.None);
            }
        }

        MakePrivate(DatabasePath);
        _process = TokenGateProcess.Start(_directory.Path, Environment(), "serve", "--urls", "http://127.0.0.1:0", "--database", DatabasePath);
        BaseAddress = await _process.WaitForListeningAsync(TimeSpan.FromSeconds(60));
        Browser = await LaunchAsync();
    }

    /// <summary>Starts Debian's chromium (headless, no sandbox: the tests may run as root). Without it the test is skipped, or
    /// fails under CI=true (.ci/run installs it).</summary>
    public async Task<IBrowser> LaunchAsync()
    {
        ExternalTool.Require("chromium", Chromium);
        _playwright ??= await Playwright.CreateAsync();
        return await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox"],
        });
    }

    public static async Task AddOperatorAsync(string database, string name, string password)
    {
        await using var store = TokenGateStores.Create(database);
        await store.InitializeAsync(CancellationToken.None);
        var change = await Operators(store).AddAsync(name, password, CancellationToken.None);
        Assert.Equal(AccountChangeStatus.Done, change.Status);
        MakePrivate(database);
    }

    /// <summary>The operators of <paramref name="store"/>, as <c>tokengate operator</c> sees them.</summary>
    public static OperatorService Operators(ITokenGateStore store) => new(store, new IdentityPasswordHasher(1000), new PasswordPolicy(), TimeProvider.System);

    private static void MakePrivate(string database)
    {        foreach (var file in new[] { database, database + "-wal", database + "-shm" }.Where(path => !OperatingSystem.IsWindows() && File.Exists(path)))
        {
            // serve refuses a database others may read (it holds password hashes).
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
    }

    /// <summary>A fresh browser context (its own cookies) at desktop size, with a page on the console's base address.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            AcceptDownloads = true,
        });
        return await context.NewPageAsync();
    }

    public async Task<IPage> SignedInPageAsync(int width = 1280, int height = 800)
    {
        var page = await NewPageAsync(width, height);
        await SignInAsync(page, Operator, OperatorPassword);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();
        return page;
    }

    public static async Task<IResponse?> SignInAsync(IPage page, string name, string password)
    {
        await page.GotoAsync("/console/login");
        await page.GetByLabel("Operator name").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(password);
        return await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync(),
            response => response.Request.Method == "POST");
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_process is not null)
        {
            await _process.TerminateAsync(TimeSpan.FromSeconds(30));
            _process.Dispose();
        }

        _directory.Dispose();
    }
}
