using System.Reflection;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using TokenGate.OperatorConsole.Components;
using TokenGate.Server.Api;

namespace TokenGate.OperatorConsole;

/// <summary>
/// Adds the operator console to <c>tokengate serve</c> (<see cref="ITokenGateExtension"/>): at <c>/console</c> on the API's
/// listener, on a listener of its own (<see cref="ConsoleListener"/>), or nowhere, as <see cref="ConsoleOptions.Placement"/>
/// decides. The same services and endpoints either way; on its own listener they run in a host of their own whose services
/// come from the server's (the console reaches the core only through <c>AccountService</c>, <c>OperatorService</c>,
/// <c>AuditService</c> and <c>LoginGate</c>).
/// </summary>
public sealed class TokenGateConsole : ITokenGateExtension
{
    public const string StylesheetPath = "/console/console.css";

    /// <summary>The console's Content-Security-Policy: nothing but its own stylesheet and forms; no script at all.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly StringValues Csp = ContentSecurityPolicy;
    private static readonly StringValues NoStore = "no-store";
    private static readonly Lazy<byte[]> Stylesheet = new(() =>
    {
        using var stream = typeof(TokenGateConsole).Assembly.GetManifestResourceStream("TokenGate.Console.console.css")!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>Registers the console with the server being built (call from <c>BuildAsync</c>'s <c>customize</c>).</summary>
    public static void AddTo(WebApplicationBuilder builder) => builder.Services.AddSingleton<ITokenGateExtension>(new TokenGateConsole());

    public void AddServices(WebApplicationBuilder builder, TokenGateSettings settings)
    {
        var placement = settings.Console.Placement(settings.Urls);
        if (placement == ConsolePlacement.Off)
        {
            return;
        }

        builder.Services.AddSingleton<ConsoleActivity>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<ConsoleActivity>());
        if (placement == ConsolePlacement.ApiListener)
        {
            AddConsoleServices(builder.Services);
        }
        else
        {
            builder.Services.AddSingleton(provider => new ConsoleListener(settings, provider));
            builder.Services.AddHostedService(provider => provider.GetRequiredService<ConsoleListener>());
        }
    }

    public void Map(WebApplication app, TokenGateSettings settings)
    {
        if (settings.Console.Placement(settings.Urls) == ConsolePlacement.ApiListener)
        {
            MapConsole(app);
        }
    }

    /// <summary>Where the console answers once the server listens (for <c>serve --demo</c>), or null when it is off.</summary>
    public static string? Address(WebApplication app)
    {
        var settings = app.Services.GetRequiredService<TokenGateSettings>();
        var listener = settings.Console.Placement(settings.Urls) switch
        {
            ConsolePlacement.ApiListener => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault(),
            ConsolePlacement.OwnListener => app.Services.GetRequiredService<ConsoleListener>().Addresses.FirstOrDefault(),
            _ => null,
        };
        return listener is null ? null : listener.TrimEnd('/') + ConsoleOptions.Path;
    }

    public static string Version { get; } =
        typeof(TokenGateApplication).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>What the console needs beside the server's services: components, the cookie session, antiforgery.</summary>
    internal static void AddConsoleServices(IServiceCollection services)
    {
        services.AddRazorComponents();
        // Keys in memory: sessions and form tokens end with the process (a restart signs operators out), and no key file holds
        // them. Behind a load balancer, send an operator to one instance.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "tokengate_console_antiforgery";
            options.Cookie.Path = ConsoleOptions.Path;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
            options.FormFieldName = "__RequestVerificationToken";
        });

        // No default scheme: the server's other endpoints never read the console's cookie. The console's pages name it in
        // their policy, which authenticates with it and challenges to the sign-in page.
        services.AddAuthentication().AddCookie(ConsoleSessions.Scheme, ConsoleSessions.Configure);
        services.AddAuthorizationBuilder().SetDefaultPolicy(new AuthorizationPolicyBuilder(ConsoleSessions.Scheme).RequireAuthenticatedUser().Build());
        services.AddSingleton<ConsoleSessions>();
        services.AddSingleton<ConsoleSessions.Events>();
        services.AddSingleton<ConsoleSignIn>();
        services.AddSingleton<ConsoleChanges>();
    }

    /// <summary>The console's middleware and endpoints on <paramref name="app"/> (the API's host or the console's own).</summary>
    internal static void MapConsole(WebApplication app)
    {
        app.UseWhen(
            context => context.Request.Path.StartsWithSegments(ConsoleOptions.Path, StringComparison.OrdinalIgnoreCase),
            branch => branch.Use(static (context, next) =>
            {
                context.Response.OnStarting(static state =>
                {
                    var headers = ((HttpResponse)state).Headers;
                    headers.ContentSecurityPolicy = Csp;
                    headers.CacheControl = NoStore;
                    headers.XFrameOptions = "DENY";
                    return Task.CompletedTask;
                }, context.Response);
                return next(context);
            }).Use(static async (context, next) =>
            {
                try
                {
                    await next(context);
                }
                catch (StorageUnavailableException) when (!context.Response.HasStarted)
                {
                    // An outage, not a bug: a page that says so (the API's exception handler would answer the contract's JSON).
                    context.Response.Clear();
                    SecurityHeaders.Apply(context.Response);
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    context.Response.Headers.RetryAfter = PasswordHashingBusyException.RetryAfterSeconds;
                    context.Response.ContentType = "text/plain; charset=utf-8";
                    await context.Response.WriteAsync("TokenGate cannot reach its database right now; reload the page in a moment.", context.RequestAborted);
                }
            })
            // Only the console's requests pay for sessions, authorization and form tokens: the API's hot path never runs them.
            .UseAuthentication()
            .UseAuthorization()
            .UseAntiforgery());

        // WebApplication puts authentication, authorization and antiforgery at the head of the whole pipeline when their services
        // are registered, unless the app says they are placed already (its own keys, which UseAuthentication and the others set on
        // the builder they are called on: the branch above, not the app). Placed they are, in the branch: every token.php request
        // would otherwise run them (15% of validate's CPU, inclusive, in a profile: docs/PERFORMANCE.md).
        var properties = ((IApplicationBuilder)app).Properties;
        properties["__AuthenticationMiddlewareSet"] = true;
        properties["__AuthorizationMiddlewareSet"] = true;
        properties["__AntiforgeryMiddlewareSet"] = true;

        app.MapGet(StylesheetPath, static (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Bytes(Stylesheet.Value, "text/css; charset=utf-8");
        }).AllowAnonymous();
        app.MapPost("/console/logout", SignOutAsync).AllowAnonymous();
        app.MapGet("/console/audit.csv", AuditExport.WriteAsync).RequireAuthorization();
        app.MapRazorComponents<App>();
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, IAntiforgery antiforgery, ILoggerFactory loggerFactory)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Results.Text("The form was not sent by the console (its antiforgery token is missing or wrong). Reload the page and try again.", "text/plain; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);
        }

        var result = await context.AuthenticateAsync(ConsoleSessions.Scheme);
        await context.SignOutAsync(ConsoleSessions.Scheme);
        if (result.Principal?.Identity?.Name is { } name)
        {
            ConsoleLog.SignedOut(loggerFactory.CreateLogger("TokenGate.Console"), name);
        }

        return Results.Redirect("/console/login?signedOut=1");
    }
}
