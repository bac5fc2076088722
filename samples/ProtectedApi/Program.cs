// An API whose endpoint answers who called it, with a TokenGate token in `?token=` (ContactNow's way) or `Authorization: Bearer`.
//
//   dotnet run --project samples/ProtectedApi                                 local mode: reads data/tokengate.db beside the server
//   ASPNETCORE_ENVIRONMENT=Remote Authentication__Schemes__TokenGate__ClientSecret='...' dotnet run --project samples/ProtectedApi
//                                                                             remote mode: asks the server's /oauth2/introspect
//
// The scheme's options come from the Authentication:Schemes:TokenGate section of appsettings.json (appsettings.Remote.json
// for remote mode), environment variables and the command line.
using System.Security.Claims;
using Microsoft.Extensions.Options;
using TokenGate.AspNetCore;

// appsettings*.json sit beside the program, wherever it is started from; relative paths in them are from the current directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddAuthentication(TokenGateDefaults.AuthenticationScheme).AddTokenGate().AddTokenGateSqlite();
builder.Services.AddAuthorization();

var app = builder.Build();

// The host checks the scheme's options (remote mode without ClientSecret, a local-mode Database that does not exist) when it
// starts, and a failure there aborts with a stack trace; checking them first makes a misconfiguration one line per problem and
// exit 2, as the TokenGate server's start-up errors.
try
{
    _ = app.Services.GetRequiredService<IOptionsMonitor<TokenGateOptions>>().Get(TokenGateDefaults.AuthenticationScheme);
    app.Services.GetRequiredService<IStartupValidator>().Validate();
}
catch (OptionsValidationException invalid)
{
    foreach (var failure in invalid.Failures)
    {
        await Console.Error.WriteLineAsync($"error: {failure}");
    }

    return 2;
}
catch (InvalidOperationException invalid)
{
    await Console.Error.WriteLineAsync($"error: {invalid.Message}");
    return 2;
}

app.UseAuthentication();
app.UseAuthorization();

app.MapGet("/", () => "ProtectedApi: GET /whoami with ?token=TOKEN or Authorization: Bearer TOKEN\n");
app.MapGet("/whoami", (ClaimsPrincipal user) => TypedResults.Ok(new WhoAmI(
        user.Identity!.Name!,
        user.FindFirstValue(TokenGateClaimTypes.TokenId)!,
        long.Parse(user.FindFirstValue(TokenGateClaimTypes.Expires)!, System.Globalization.CultureInfo.InvariantCulture))))
    .RequireAuthorization();

await app.RunAsync();
return 0;

/// <summary>Who called: the account, the token's non-secret id, and when the token expires (Unix seconds).</summary>
internal sealed record WhoAmI(string Account, string TokenId, long Expires);
