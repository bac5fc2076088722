// The load target of benchmarks/TokenGate.AspNetCore.Benchmarks/run.sh: the same /whoami endpoint behind TokenGate local-mode
// authentication (--auth local --database PATH), behind no authentication at all (--auth none), behind remote mode with its
// introspection cache (--auth remote --authority URL --client-id ID --client-secret SECRET), and, to tell the framework's share
// from TokenGate's, behind a stand-in scheme that accepts any token without looking it up (--auth framework): the same
// middleware, handler base class, claims and authorization, no store. Nothing is logged.
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using TokenGate.AspNetCore;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var auth = builder.Configuration["auth"];
switch (auth)
{
    case "local":
        builder.Services.AddAuthentication(TokenGateDefaults.AuthenticationScheme).AddTokenGate(options =>
        {
            options.Mode = TokenGateMode.Local;
            options.Database = builder.Configuration["database"] ?? throw new ArgumentException("--database PATH is required with --auth local.");
        }).AddTokenGateSqlite();
        break;
    case "remote":
        builder.Services.AddAuthentication(TokenGateDefaults.AuthenticationScheme).AddTokenGate(options =>
        {
            options.Mode = TokenGateMode.Remote;
            options.Authority = new Uri(builder.Configuration["authority"] ?? throw new ArgumentException("--authority URL is required with --auth remote."));
            options.ClientId = builder.Configuration["client-id"];
            options.ClientSecret = builder.Configuration["client-secret"];
        });
        break;
    case "framework":
        builder.Services.AddAuthentication(StandInHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, StandInHandler>(StandInHandler.SchemeName, _ => { });
        break;
    case "none":
        break;
    default:
        throw new ArgumentException("--auth must be 'local', 'remote', 'framework' or 'none'.");
}

var authenticated = auth != "none";
if (authenticated)
{
    builder.Services.AddAuthorization();
}

var app = builder.Build();
if (authenticated)
{
    app.UseAuthentication();
    app.UseAuthorization();
}

var whoami = app.MapGet("/whoami", (ClaimsPrincipal user) => authenticated
    ? new WhoAmI(user.Identity!.Name!, user.FindFirstValue(TokenGateClaimTypes.TokenId)!, long.Parse(user.FindFirstValue(TokenGateClaimTypes.Expires)!, System.Globalization.CultureInfo.InvariantCulture))
    : new WhoAmI("anonymous", "-", 0));
if (authenticated)
{
    whoami.RequireAuthorization();
}

app.Run();

internal sealed record WhoAmI(string Account, string TokenId, long Expires);

/// <summary>Accepts any non-empty <c>token</c> (query or bearer) as the account <c>bench</c>, with the claims TokenGate gives.</summary>
internal sealed class StandInHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "StandIn";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = Request.Query["token"].ToString();
        if (token.Length == 0 && Request.Headers.Authorization.ToString() is { Length: > 7 } header)
        {
            token = header[7..];
        }

        if (token.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var identity = new ClaimsIdentity(SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.NameIdentifier, "bench"));
        identity.AddClaim(new Claim(ClaimTypes.Name, "bench"));
        identity.AddClaim(new Claim(TokenGateClaimTypes.TokenId, "0000000000000000"));
        identity.AddClaim(new Claim(TokenGateClaimTypes.Expires, "4102444800", ClaimValueTypes.Integer64));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
