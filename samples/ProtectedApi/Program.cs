// An API whose endpoint answers who called it, with a TokenGate token in `?token=` (ContactNow's way) or `Authorization: Bearer`.
//
//   dotnet run --project samples/ProtectedApi                                 local mode: reads data/tokengate.db beside the server
//   ASPNETCORE_ENVIRONMENT=Remote Authentication__Schemes__TokenGate__ClientSecret='...' dotnet run --project samples/ProtectedApi
//                                                                             remote mode: asks the server's /oauth2/introspect
//
// The scheme's options come from the Authentication:Schemes:TokenGate section of appsettings.json (appsettings.Remote.json
// for remote mode), environment variables and the command line.
using System.Security.Claims;
using TokenGate.AspNetCore;

// appsettings*.json sit beside the program, wherever it is started from; relative paths in them are from the current directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddAuthentication(TokenGateDefaults.AuthenticationScheme).AddTokenGate().AddTokenGateSqlite();
builder.Services.AddAuthorization();

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();

app.MapGet("/", () => "ProtectedApi: GET /whoami with ?token=TOKEN or Authorization: Bearer TOKEN\n");
app.MapGet("/whoami", (ClaimsPrincipal user) => TypedResults.Ok(new WhoAmI(
        user.Identity!.Name!,
        user.FindFirstValue(TokenGateClaimTypes.TokenId)!,
        long.Parse(user.FindFirstValue(TokenGateClaimTypes.Expires)!, System.Globalization.CultureInfo.InvariantCulture))))
    .RequireAuthorization();

try
{
    // The options the host checks when it starts (a local-mode Database that does not exist, say), checked first here so that
    // a problem is one line instead of the host's "failed to start" log with a stack trace.
    app.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();
}
catch (Microsoft.Extensions.Options.OptionsValidationException invalid)
{
    foreach (var failure in invalid.Failures)
    {
        Console.Error.WriteLine($"error: {failure}");
    }

    return 2;
}

app.Run();
return 0;

/// <summary>Who called: the account, the token's non-secret id, and when the token expires (Unix seconds).</summary>
internal sealed record WhoAmI(string Account, string TokenId, long Expires);
