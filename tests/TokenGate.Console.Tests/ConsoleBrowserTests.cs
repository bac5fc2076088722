using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using TokenGate.Accounts;
using TokenGate.Testing;
using static Microsoft.Playwright.Assertions;

namespace TokenGate.OperatorConsole.Tests;

/// <summary>
/// The console in Debian's chromium against a real <c>tokengate serve</c> (issue 16, "How it is tested"). The operator's day
/// also takes the screenshots docs/CONSOLE.md shows.
/// </summary>
public sealed partial class ConsoleBrowserTests(ConsoleServer server) : IClassFixture<ConsoleServer>
{
    private HttpClient Api => new() { BaseAddress = server.BaseAddress };

    [Fact(Timeout = 300_000)]
    public async Task An_operator_creates_an_account_sees_and_revokes_its_token_disables_it_finds_a_failed_login_exports_it_and_signs_out()
    {
        var page = await server.SignedInPageAsync();

        // Create an account and read its one-time password.
        await page.GotoAsync("/console/accounts");
        await page.Locator("#create-name").FillAsync("payroll");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        var password = await page.GetByLabel("Password of payroll").InputValueAsync();
        Assert.Matches("^[A-Za-z0-9]{20,}$", password);

        // Get a token for it with token.php, and see it (by id, never by value) on the account page.
        var api = new TokenApiClient(Api);
        var token = (await api.GetTokenAsync("payroll", password)).Token!;
        Assert.True((await api.ValidateAsync(token)).Success);
        var id = TokenId(token);
        await page.GotoAsync("/console/accounts/payroll");
        var tokens = page.Locator("#tokens");
        await Expect(tokens.GetByRole(AriaRole.Cell, new() { Name = id, Exact = true })).ToBeVisibleAsync();
        await Expect(tokens.GetByRole(AriaRole.Cell, new() { Name = "127.0.0.1", Exact = true })).ToBeVisibleAsync();
        Assert.DoesNotContain(token, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(password, await page.ContentAsync(), StringComparison.Ordinal);
        await ScreenshotAsync(page, "account.png");

        // Revoke it, and validate refuses it.
        await page.GetByRole(AriaRole.Button, new() { Name = $"Revoke token {id}" }).ClickAsync();
        await Expect(page.Locator("#message")).ToHaveTextAsync($"Token {id} revoked.");
        Assert.Equal("Invalid token", (await api.ValidateAsync(token)).Error);

        // Disable the account: token.php refuses it.
        await page.GetByRole(AriaRole.Button, new() { Name = "Disable" }).ClickAsync();
        await Expect(page.Locator("#state")).ToHaveTextAsync("disabled");
        Assert.Equal("Authentication failure", (await api.GetTokenAsync("payroll", password)).Error);

        // Someone fails to sign in; the audit page finds it, and exports it.
        var other = await server.NewPageAsync();
        await ConsoleServer.SignInAsync(other, ConsoleServer.Operator, "not the password");
        await Expect(other.Locator("#login-error")).ToHaveTextAsync("Wrong operator name or password.");
        await page.GotoAsync("/console/audit");
        await page.GetByLabel("Action").SelectOptionAsync("console.login");
        await page.GetByLabel("Outcome").FillAsync("authentication failure");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "authentication failure" }).First).ToBeVisibleAsync();
        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("#export").ClickAsync());
        var csv = await File.ReadAllTextAsync((await download.PathAsync())!);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(AuditCsv.Header, lines[0]);
        Assert.All(lines.Skip(1), line => Assert.Contains(",127.0.0.1,console.login,authentication failure,", line, StringComparison.Ordinal));
        Assert.NotEmpty(lines.Skip(1));

        // Every change is in the trail with the operator's name.
        await page.GotoAsync("/console/audit?account=payroll");
        foreach (var action in new[] { "account.add", "token.revoke", "account.disable" })
        {
            await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = action }).First).ToContainTextAsync(ConsoleServer.Operator);
        }

        await page.GotoAsync("/console/audit");
        await ScreenshotAsync(page, "audit.png");
        await page.GotoAsync("/console");
        await Expect(page.Locator("#accounts-disabled")).ToHaveTextAsync(new Regex("^[1-9]"));
        await Expect(page.Locator("#store-health")).ToHaveTextAsync("answers");
        await ScreenshotAsync(page, "overview.png");

        // Sign out: the console asks to sign in again.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByText("You are signed out.")).ToBeVisibleAsync();
        await page.GotoAsync("/console/accounts");
        await Expect(page).ToHaveURLAsync(new Regex("/console/login"));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_wrong_password_is_refused_and_after_the_limit_the_sign_in_is_throttled_with_429()
    {
        var page = await server.NewPageAsync();
        for (var i = 0; i < 3; i++)
        {
            var refused = await ConsoleServer.SignInAsync(page, "guessed", "guess number " + i);
            Assert.Equal(200, refused!.Status);
            await Expect(page.Locator("#login-error")).ToHaveTextAsync("Wrong operator name or password.");
        }

        var throttled = await ConsoleServer.SignInAsync(page, "guessed", "one guess too many");
        Assert.Equal(429, throttled!.Status);
        Assert.True(int.Parse((await throttled.HeaderValueAsync("retry-after"))!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        await Expect(page.Locator("#login-error")).ToContainTextAsync("Too many failed sign-ins");
    }

    [Fact(Timeout = 120_000)]
    public async Task An_api_account_cannot_sign_in_to_the_console()
    {
        var page = await server.SignedInPageAsync();
        await page.GotoAsync("/console/accounts");
        await page.Locator("#create-name").FillAsync("api-client");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        var password = await page.GetByLabel("Password of api-client").InputValueAsync();
        Assert.True((await new TokenApiClient(Api).GetTokenAsync("api-client", password)).Success);

        var intruder = await server.NewPageAsync();
        await ConsoleServer.SignInAsync(intruder, "api-client", password);
        await Expect(intruder.Locator("#login-error")).ToHaveTextAsync("Wrong operator name or password.");
        await intruder.GotoAsync("/console");
        await Expect(intruder).ToHaveURLAsync(new Regex("/console/login"));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_form_posted_without_its_antiforgery_token_is_refused()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
        var login = await http.PostAsync("console/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "login", ["Name"] = ConsoleServer.Operator, ["Password"] = ConsoleServer.OperatorPassword,
        }));
        Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
        Assert.False(login.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(cookie => cookie.StartsWith(ConsoleSessions.CookieName + "=", StringComparison.Ordinal)));

        var signOut = await http.PostAsync("console/logout", new FormUrlEncodedContent([]));
        Assert.Equal(HttpStatusCode.BadRequest, signOut.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Every_console_answer_carries_the_content_security_policy_and_pages_hold_no_script_or_inline_style()
    {
        var page = await server.SignedInPageAsync();
        foreach (var path in new[] { "/console", "/console/accounts", "/console/audit", "/console/login", "/console/console.css" })
        {
            var response = await page.GotoAsync(path);
            Assert.Equal(TokenGateConsole.ContentSecurityPolicy, await response!.HeaderValueAsync("content-security-policy"));
            if (path.EndsWith(".css", StringComparison.Ordinal))
            {
                continue;
            }

            var html = await page.ContentAsync();
            Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(" style=", html, StringComparison.OrdinalIgnoreCase);
            Assert.Equal("no-store", await response.HeaderValueAsync("cache-control"));
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task At_phone_width_no_page_scrolls_sideways()
    {
        var page = await server.SignedInPageAsync(375, 740);
        foreach (var path in new[] { "/console", "/console/accounts", "/console/audit", "/console/accounts/payroll", "/console/login" })
        {
            await page.GotoAsync(path);
            var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
            Assert.True(overflow <= 0, $"{path} is {overflow}px wider than a 375px screen.");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_malformed_query_gets_a_message_not_a_server_error()
    {
        var page = await server.SignedInPageAsync();
        var response = await page.GotoAsync("/console/audit?from=yesterday&before=x");
        Assert.Equal(400, response!.Status);
        await Expect(page.Locator("#filter-errors")).ToContainTextAsync("'From' is not a time");
        await page.GotoAsync("/console/accounts/" + new string('x', 300));
        await Expect(page.Locator("#missing")).ToContainTextAsync("There is no account named");
        response = await page.GotoAsync("/console/audit.csv?to=13:00");
        Assert.Equal(400, response!.Status);
    }

    [Fact(Timeout = 120_000)]
    public async Task Accounts_page_through_by_name_fifty_at_a_time()
    {
        var page = await server.SignedInPageAsync();
        await page.GotoAsync("/console/accounts");
        await page.GetByLabel("Name contains").FillAsync("BULK-");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        var seen = new List<string>();
        for (var pageNumber = 0; pageNumber < 5; pageNumber++)
        {
            seen.AddRange(await page.Locator("tbody tr td:first-child").AllInnerTextsAsync());
            var next = page.GetByRole(AriaRole.Link, new() { Name = "Next page" });
            if (await next.CountAsync() == 0)
            {
                break;
            }

            await next.ClickAsync();
        }

        Assert.Equal(Enumerable.Range(0, ConsoleServer.BulkAccounts).Select(i => $"bulk-{i:D3}"), seen);
    }

    [Fact(Timeout = 120_000)]
    public async Task Changing_an_operators_password_ends_their_session()
    {
        var page = await server.NewPageAsync();
        await ConsoleServer.SignInAsync(page, ConsoleServer.SecondOperator, ConsoleServer.OperatorPassword);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();

        // As tokengate operator passwd does, from another process on the same database.
        await using (var store = TokenGateStores.Create(server.DatabasePath))
        {
            await store.InitializeAsync(CancellationToken.None);
            var change = await ConsoleServer.Operators(store).SetPasswordAsync(ConsoleServer.SecondOperator, "another operator password 2", CancellationToken.None);
            Assert.Equal(AccountChangeStatus.Done, change.Status);
        }

        await Task.Delay(ConsoleSessions.CheckInterval + TimeSpan.FromSeconds(1));
        await page.GotoAsync("/console/accounts");
        await Expect(page).ToHaveURLAsync(new Regex("/console/login"));
    }

    [Fact(Timeout = 60_000)]
    public async Task The_keyboard_reaches_the_skip_link_the_navigation_and_sign_out_in_order()
    {
        var page = await server.SignedInPageAsync();
        var focused = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            focused.Add(await page.EvaluateAsync<string>("() => document.activeElement.textContent.trim()"));
        }

        Assert.Equal(["Skip to content", "Overview", "Accounts", "Audit", "Sign out"], focused);
    }

    /// <summary>The token's non-secret id: the first 8 bytes of the SHA-256 of its 40 characters, in hex.</summary>
    private static string TokenId(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(token))[..8]);

    /// <summary>
    /// Takes a screenshot into the test's output folder (screenshots/), and into docs/console, where the guide shows it, when
    /// TOKENGATE_SCREENSHOTS=docs: an ordinary test run leaves the work tree as it found it (the pages show times, so every run's
    /// pictures differ).
    /// </summary>
    private static async Task ScreenshotAsync(IPage page, string name)
    {
        var picture = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true });
        Assert.True(picture.Length > 1000, $"{name}: an empty screenshot ({picture.Length} bytes)");
        var folders = new List<string> { Path.Combine(AppContext.BaseDirectory, "screenshots") };
        if (Environment.GetEnvironmentVariable("TOKENGATE_SCREENSHOTS") == "docs")
        {
            folders.Add(RepositoryPaths.Of("docs", "console"));
        }

        foreach (var folder in folders)
        {
            Directory.CreateDirectory(folder);
            await File.WriteAllBytesAsync(Path.Combine(folder, name), picture);
        }
    }
}
