using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using TokenGate.Operators;

namespace TokenGate.OperatorConsole;

/// <summary>
/// The console's cookie session: who signed in (the operator's name) and the credential stamp their password had then. Each
/// request checks the stamp against the store (remembered for <see cref="CheckInterval"/>), so removing an operator or changing
/// their password ends their sessions within that interval, on every instance.
/// </summary>
public sealed class ConsoleSessions(OperatorService operators, TimeProvider time, ILoggerFactory loggerFactory)
{
    public const string Scheme = "TokenGate.Console";
    public const string CookieName = "tokengate_console";
    public const string StampClaim = "tokengate:credential_stamp";

    /// <summary>How long a checked stamp is believed without asking the store again.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, (string? Stamp, DateTimeOffset CheckedAt)> _checked = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggerFactory.CreateLogger("TokenGate.Console");

    public static ClaimsPrincipal Principal(OperatorRecord record) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, record.Name), new Claim(StampClaim, record.CredentialStamp)], Scheme, ClaimTypes.Name, ClaimTypes.Role));

    public static void Configure(CookieAuthenticationOptions options)
    {
        options.Cookie.Name = CookieName;
        options.Cookie.Path = Server.Hosting.ConsoleOptions.Path;
        options.Cookie.HttpOnly = true;
        options.Cookie.SameSite = SameSiteMode.Strict;
        options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.ExpireTimeSpan = TimeSpan.FromMinutes(30);
        options.SlidingExpiration = true;
        options.LoginPath = "/console/login";
        options.LogoutPath = "/console/logout";
        options.AccessDeniedPath = "/console/login";
        options.ReturnUrlParameter = "returnUrl";
        options.EventsType = typeof(Events);
    }

    /// <summary>Forgets what was remembered of <paramref name="name"/> (after a change made on this instance).</summary>
    public void Forget(string name) => _checked.TryRemove(name, out _);

    private async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var name = context.Principal?.Identity?.Name;
        var stamp = context.Principal?.FindFirst(StampClaim)?.Value;
        if (name is null || stamp is null || await CurrentStampAsync(name, context.HttpContext.RequestAborted) != stamp)
        {
            if (name is not null)
            {
                ConsoleLog.SessionEnded(_logger, name);
            }

            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
        }
    }

    private async ValueTask<string?> CurrentStampAsync(string name, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_checked.TryGetValue(name, out var known) && now - known.CheckedAt < CheckInterval)
        {
            return known.Stamp;
        }

        var current = (await operators.FindAsync(name, cancellationToken))?.CredentialStamp;
        if (_checked.Count > 10_000)
        {
            _checked.Clear();
        }

        _checked[name] = (current, now);
        return current;
    }

    /// <summary>The cookie handler's events, resolved from the services (<see cref="CookieAuthenticationOptions.EventsType"/>).</summary>
    public sealed class Events(ConsoleSessions sessions) : CookieAuthenticationEvents
    {
        public override Task ValidatePrincipal(CookieValidatePrincipalContext context) => sessions.ValidateAsync(context);
    }
}
