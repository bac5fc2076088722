// Gets a token for the configured account and calls a protected endpoint with it.
//
//   TokenGate__Password='...' dotnet run --project samples/ClientApp
//   TokenGate__Password='...' dotnet run --project samples/ClientApp -- --Api:Url https://api.example/some/endpoint
//
// Settings come from appsettings.json, environment variables (TokenGate__Endpoint, TokenGate__Username, TokenGate__Password,
// Api__Url, Api__Placement) and the command line. Without Api:Url the "protected endpoint" is the token API's own validate
// action, which takes the token as its `token` query parameter just as ContactNow's other APIs do.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TokenGate.Client;

// appsettings.json sits beside the program, wherever it is started from.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddTokenGateClient(builder.Configuration.GetSection("TokenGate"));
var placement = builder.Configuration.GetValue("Api:Placement", TokenPlacement.QueryParameter);
builder.Services.AddHttpClient("api").AddTokenGateToken(options => options.Placement = placement);
using var host = builder.Build();

try
{
    var endpoint = host.Services.GetRequiredService<ITokenApiClient>().Endpoint;
    var target = builder.Configuration.GetValue<string>("Api:Url") is { Length: > 0 } url
        ? new Uri(url)
        : new Uri(endpoint, "?action=validate");

    var token = await host.Services.GetRequiredService<ITokenProvider>().GetTokenAsync();
    Console.WriteLine($"Got a token that expires at {token.ExpiresAt:u} ({token.RemainingAtIssue?.ToString() ?? "unknown time"} left by the server's clock).");

    var http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("api");
    using var response = await http.GetAsync(target);
    Console.WriteLine($"GET {target.GetLeftPart(UriPartial.Path)}: HTTP {(int)response.StatusCode}");
    Console.WriteLine(await response.Content.ReadAsStringAsync());
    return response.IsSuccessStatusCode ? 0 : 1;
}
catch (TokenClientException exception)
{
    // The message names the action and the server's error text; it never holds the password or a token.
    Console.Error.WriteLine(exception.Message);
    return 1;
}
catch (Microsoft.Extensions.Options.OptionsValidationException exception)
{
    Console.Error.WriteLine("Configuration: " + string.Join(" ", exception.Failures));
    return 2;
}
