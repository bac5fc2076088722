using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TokenGate.Testing;
using TokenGate.Tokens;

namespace TokenGate.AspNetCore.Tests;

/// <summary>
/// Every fact about the handler that holds in both modes, after ASP.NET Core's <c>SharedAuthenticationTests</c>: each mode
/// subclasses this and only says how to configure the scheme (its fixture). All of it over real HTTP, against a real server.
/// </summary>
public abstract class TokenGateHandlerTests<TFixture>(TFixture fixture)
    where TFixture : ModeFixture
{
    internal const string InvalidChallenge = "Bearer error=\"invalid_token\", error_description=\"The token is invalid\"";
    internal const string ExpiredChallenge = "Bearer error=\"invalid_token\", error_description=\"The token expired\"";

    protected TFixture Fixture => fixture;

    private HttpClient Client(IPAddress? source = null) => fixture.Api.CreateClient(source);

    [Fact]
    public async Task The_scheme_is_registered_with_its_default_name_and_no_display_name()
    {
        var schemes = fixture.Api.App.Services.GetRequiredService<IAuthenticationSchemeProvider>();
        var scheme = await schemes.GetSchemeAsync(TokenGateDefaults.AuthenticationScheme);

        Assert.NotNull(scheme);
        Assert.Equal("TokenGateHandler", scheme.HandlerType.Name);
        Assert.Null(scheme.DisplayName);
        Assert.Equal(TokenGateDefaults.AuthenticationScheme, (await schemes.GetDefaultAuthenticateSchemeAsync())?.Name);
    }

    [Fact]
    public async Task Forward_default_hands_every_call_to_the_other_scheme()
    {
        await using var api = await fixture.StartApiAsync(
            options => options.ForwardDefault = ForwardTarget.SchemeName,
            builder => builder.Services
                .Configure<AuthenticationOptions>(options => options.DefaultScheme = TokenGateDefaults.AuthenticationScheme)
                .AddAuthentication().AddScheme<AuthenticationSchemeOptions, ForwardTarget>(ForwardTarget.SchemeName, _ => { }));
        using var http = api.CreateClient();

        var whoami = await http.WhoAmIAsync("0123456789abcdef0123456789abcdef01234567");

        Assert.Equal((HttpStatusCode.OK, "forwarded"), (whoami.Status, whoami.Name));
    }

    [Fact]
    public async Task No_token_is_no_result_a_bare_bearer_challenge_and_open_endpoints_still_answer()
    {
        using var http = Client();

        var whoami = await http.WhoAmIAsync(token: null);
        var open = await http.GetStringAsync("open");

        Assert.Equal(HttpStatusCode.Unauthorized, whoami.Status);
        Assert.Equal("Bearer", whoami.Challenge);
        Assert.Empty(whoami.Body);
        Assert.Equal("open", open);
    }

    [Fact]
    public async Task An_empty_token_counts_as_no_token()
    {
        using var http = Client();

        Assert.Equal("Bearer", (await http.WhoAmIAsync(string.Empty, Carrier.Query)).Challenge);
        Assert.Equal("Bearer", (await http.WhoAmIAsync(token: null, customize: r => r.Headers.TryAddWithoutValidation("Authorization", "Bearer "))).Challenge);
        Assert.Equal("Bearer", (await http.WhoAmIAsync(token: null, customize: r => r.Headers.TryAddWithoutValidation("Authorization", "Basic dXNlcjpwYXNz"))).Challenge);
    }

    [Theory]
    [InlineData(Carrier.Header)]
    [InlineData(Carrier.Query)]
    [InlineData(Carrier.Form)]
    public async Task A_valid_token_from_a_bound_address_authenticates_its_account_from_header_query_or_form(Carrier carrier)
    {
        var (account, token, expire) = await fixture.NewTokenAsync();
        using var http = Client();

        var whoami = await http.WhoAmIAsync(token, carrier);

        Assert.Equal(HttpStatusCode.OK, whoami.Status);
        Assert.Equal(account, whoami.Name);
        Assert.Equal(account, whoami.Claims[ClaimTypes.NameIdentifier]);
        Assert.Equal(TokenValue.IdOf(TokenValue.ComputeDigest(token)), whoami.Claims[TokenGateClaimTypes.TokenId]);
        Assert.Matches("^[0-9a-f]{16}$", whoami.Claims[TokenGateClaimTypes.TokenId]);
        Assert.Equal(expire.ToString(System.Globalization.CultureInfo.InvariantCulture), whoami.Claims[TokenGateClaimTypes.Expires]);
        Assert.Equal(4, whoami.Claims.Count);
        Assert.DoesNotContain(token, whoami.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef01234567")]
    [InlineData("not a token")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF01234567")]
    public async Task An_unknown_or_malformed_token_fails_with_invalid_token(string token)
    {
        using var http = Client();

        var whoami = await http.WhoAmIAsync(token, Carrier.Query);

        Assert.Equal(HttpStatusCode.Unauthorized, whoami.Status);
        Assert.Equal(InvalidChallenge, whoami.Challenge);
        Assert.Empty(whoami.Body);
    }

    [Fact]
    public async Task A_token_expires_at_the_exact_second_of_its_expire()
    {
        var (_, token, expire) = await fixture.NewTokenAsync();
        using var http = Client();

        fixture.Time.SetUnixNow(expire - 1);
        var lastSecond = await http.WhoAmIAsync(token);
        fixture.Time.SetUnixNow(expire);
        var expired = await http.WhoAmIAsync(token);

        Assert.Equal(HttpStatusCode.OK, lastSecond.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, expired.Status);
        Assert.Equal(ExpiredChallenge, expired.Challenge);
    }

    [Fact]
    public async Task An_expired_token_from_a_wrong_address_is_invalid_not_expired()
    {
        var (_, token, expire) = await fixture.NewTokenAsync();
        using var http = Client();
        Assert.Equal(HttpStatusCode.OK, (await http.WhoAmIAsync(token)).Status);

        fixture.Time.SetUnixNow(expire);
        using var other = Client(LoopbackClient.Second);

        Assert.Equal(InvalidChallenge, (await other.WhoAmIAsync(token)).Challenge);
    }

    [Fact]
    public async Task A_deleted_token_is_refused_once_the_revocation_lag_has_passed()
    {
        var (_, token, _) = await fixture.NewTokenAsync();
        using var http = Client();
        Assert.Equal(HttpStatusCode.OK, (await http.WhoAmIAsync(token)).Status);

        await fixture.DeleteAsync(token);
        var atOnce = await http.WhoAmIAsync(token);
        fixture.Time.Advance(fixture.RevocationLag);
        var afterLag = await http.WhoAmIAsync(token);

        Assert.Equal(fixture.RevocationLag == TimeSpan.Zero ? HttpStatusCode.Unauthorized : HttpStatusCode.OK, atOnce.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, afterLag.Status);
        Assert.Equal(InvalidChallenge, afterLag.Challenge);
    }

    [Fact]
    public async Task A_token_of_a_disabled_account_is_refused()
    {
        var (account, token, _) = await fixture.NewTokenAsync();
        await fixture.Server.Accounts.SetEnabledAsync(account, false, CancellationToken.None);
        fixture.Time.Advance(fixture.RevocationLag);
        using var http = Client();

        Assert.Equal(InvalidChallenge, (await http.WhoAmIAsync(token)).Challenge);
    }

    [Fact]
    public async Task A_token_used_from_an_address_it_is_not_bound_to_is_invalid()
    {
        var (_, token, _) = await fixture.NewTokenAsync();
        var (account, boundToSecond, _) = await fixture.NewTokenAsync(address: "127.0.0.2, 10.0.0.1");
        using var first = Client(LoopbackClient.First);
        using var second = Client(LoopbackClient.Second);

        var wrong = await second.WhoAmIAsync(token);
        var right = await second.WhoAmIAsync(boundToSecond);
        var wrongAgain = await first.WhoAmIAsync(boundToSecond);

        Assert.Equal((HttpStatusCode.Unauthorized, InvalidChallenge), (wrong.Status, wrong.Challenge));
        Assert.Equal((HttpStatusCode.OK, account), (right.Status, right.Name));
        Assert.Equal((HttpStatusCode.Unauthorized, InvalidChallenge), (wrongAgain.Status, wrongAgain.Challenge));
    }

    [Fact]
    public async Task The_same_token_in_query_and_header_is_one_token_different_ones_are_an_invalid_request()
    {
        var (account, token, _) = await fixture.NewTokenAsync();
        var (_, other, _) = await fixture.NewTokenAsync();
        using var http = Client();

        var same = await http.WhoAmIAsync(token, Carrier.Query, r => r.Headers.Authorization = new("Bearer", token));
        var different = await http.WhoAmIAsync(token, Carrier.Query, r => r.Headers.Authorization = new("Bearer", other));
        var twiceInQuery = await http.WhoAmIAsync(token: null, customize: r => r.RequestUri = new Uri($"whoami?token={token}&token={other}", UriKind.Relative));

        Assert.Equal((HttpStatusCode.OK, account), (same.Status, same.Name));
        Assert.Equal(HttpStatusCode.BadRequest, different.Status);
        Assert.Equal("Bearer error=\"invalid_request\", error_description=\"The token was sent in more than one place\"", different.Challenge);
        Assert.Equal(HttpStatusCode.BadRequest, twiceInQuery.Status);
    }

    /// <summary>
    /// The framework's own request lines (<c>Microsoft.AspNetCore.Hosting.Diagnostics</c>, Information) print the URL with its
    /// query string, so a <c>?token=</c> appears there unless that category is kept at Warning, as the project templates and the
    /// sample do (the README says so). Every other line, at Trace, is searched.
    /// </summary>
    [Fact]
    public async Task A_token_is_never_written_to_any_log_line_only_its_id()
    {
        var (_, token, _) = await fixture.NewTokenAsync();
        var (_, deleted, _) = await fixture.NewTokenAsync();
        await fixture.DeleteAsync(deleted);
        fixture.Time.Advance(fixture.RevocationLag);
        using var http = Client();
        using var second = Client(LoopbackClient.Second);

        await http.WhoAmIAsync(token);
        await http.WhoAmIAsync(token, Carrier.Query);
        await http.WhoAmIAsync(token, Carrier.Form);
        await second.WhoAmIAsync(token);
        await http.WhoAmIAsync(deleted, Carrier.Query);

        var lines = fixture.Api.Logs.Lines.ToList();
        Assert.Contains(lines, line => line.Contains(TokenValue.IdOf(TokenValue.ComputeDigest(deleted)), StringComparison.Ordinal));
        Assert.DoesNotContain(
            lines.Where(line => !line.Contains(" Microsoft.AspNetCore.Hosting.Diagnostics[", StringComparison.Ordinal)),
            line => line.Contains(token, StringComparison.OrdinalIgnoreCase) || line.Contains(deleted, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Without_error_details_every_refusal_is_a_bare_bearer_challenge()
    {
        await using var api = await fixture.StartApiAsync(options => options.IncludeErrorDetails = false);
        using var http = api.CreateClient();

        var refused = await http.WhoAmIAsync("0123456789abcdef0123456789abcdef01234567");

        Assert.Equal((HttpStatusCode.Unauthorized, "Bearer"), (refused.Status, refused.Challenge));
    }

    [Fact]
    public async Task A_challenge_with_parameters_gets_the_error_after_a_comma()
    {
        await using var api = await fixture.StartApiAsync(options => options.Challenge = "Bearer realm=\"api\"");
        using var http = api.CreateClient();

        Assert.Equal("Bearer realm=\"api\"", (await http.WhoAmIAsync(token: null)).Challenge);
        Assert.Equal(
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"The token is invalid\"",
            (await http.WhoAmIAsync("0123456789abcdef0123456789abcdef01234567")).Challenge);
    }

    [Fact]
    public async Task The_contactnow_failure_style_answers_200_with_the_token_apis_error_bodies()
    {
        await using var api = await fixture.StartApiAsync(options => options.FailureStyle = TokenGateFailureStyle.ContactNow);
        var (_, token, expire) = await fixture.NewTokenAsync();
        using var http = api.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.WhoAmIAsync(token, Carrier.Query)).Status);

        using var missing = await http.GetAsync("whoami");
        var invalid = await http.WhoAmIAsync("0123456789abcdef0123456789abcdef01234567", Carrier.Query);
        fixture.Time.SetUnixNow(expire);
        var expired = await http.WhoAmIAsync(token, Carrier.Query);

        Assert.Equal(HttpStatusCode.OK, missing.StatusCode);
        Assert.Equal("{\"success\":false,\"error\":\"Invalid token\"}", await missing.Content.ReadAsStringAsync());
        Assert.Equal("no-store", missing.Headers.CacheControl?.ToString());
        Assert.Equal((HttpStatusCode.OK, "{\"success\":false,\"error\":\"Invalid token\"}"), (invalid.Status, invalid.Body));
        Assert.Equal(InvalidChallenge, invalid.Challenge);
        Assert.Equal((HttpStatusCode.OK, "{\"success\":false,\"error\":\"Expired token\",\"expire\":-1}"), (expired.Status, expired.Body));
    }

    [Fact]
    public async Task Events_can_supply_the_token_add_claims_rescue_a_failure_and_write_the_challenge()
    {
        var (account, token, _) = await fixture.NewTokenAsync();
        var failures = new List<TokenGateFailureReason>();
        await using var api = await fixture.StartApiAsync(options => options.Events = new TokenGateEvents
        {
            OnMessageReceived = context =>
            {
                context.Token = context.Request.Headers["X-Api-Token"];
                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                ((ClaimsIdentity)context.Principal!.Identity!).AddClaim(new Claim("tenant", context.AccountName + "@" + context.ClientAddress));
                return Task.CompletedTask;
            },
            OnAuthenticationFailed = context =>
            {
                failures.Add(((TokenGateAuthenticationException)context.Exception).Reason);
                return Task.CompletedTask;
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                context.Response.StatusCode = 401;
                await context.Response.WriteAsync($"{context.Error}: {context.ErrorDescription}");
            },
        });
        using var http = api.CreateClient();

        var accepted = await http.WhoAmIAsync(token: null, customize: r => r.Headers.Add("X-Api-Token", token));
        var refused = await http.WhoAmIAsync(token: null, customize: r => r.Headers.Add("X-Api-Token", "0123456789abcdef0123456789abcdef01234567"));

        Assert.Equal((HttpStatusCode.OK, $"{account}@127.0.0.1"), (accepted.Status, accepted.Claims["tenant"]));
        Assert.Equal((HttpStatusCode.Unauthorized, null, "invalid_token: The token is invalid"), (refused.Status, refused.Challenge, refused.Body));
        Assert.Equal([TokenGateFailureReason.InvalidToken], failures);
    }

    [Fact]
    public async Task A_failure_the_authentication_failed_event_turns_into_success_lets_the_request_through()
    {
        await using var api = await fixture.StartApiAsync(options => options.Events.OnAuthenticationFailed = context =>
        {
            context.Principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "guest")], context.Scheme.Name));
            context.Success();
            return Task.CompletedTask;
        });
        using var http = api.CreateClient();

        var whoami = await http.WhoAmIAsync("0123456789abcdef0123456789abcdef01234567");

        Assert.Equal((HttpStatusCode.OK, "guest"), (whoami.Status, whoami.Name));
    }

    [Fact]
    public async Task A_token_in_a_multipart_body_is_not_read()
    {
        var (_, token, _) = await fixture.NewTokenAsync();
        using var http = Client();
        using var content = new MultipartFormDataContent { { new StringContent(token), "token" } };

        var whoami = await http.WhoAmIAsync(token: null, customize: r =>
        {
            r.Method = HttpMethod.Post;
            r.Content = content;
        });

        Assert.Equal((HttpStatusCode.Unauthorized, "Bearer"), (whoami.Status, whoami.Challenge));
    }
}

public sealed class LocalModeHandlerTests(LocalModeFixture fixture) : TokenGateHandlerTests<LocalModeFixture>(fixture), IClassFixture<LocalModeFixture>;

public sealed class RemoteModeHandlerTests(RemoteModeFixture fixture) : TokenGateHandlerTests<RemoteModeFixture>(fixture), IClassFixture<RemoteModeFixture>;

/// <summary>A scheme that signs in everyone as <c>forwarded</c>: the target of the forwarding test.</summary>
public sealed class ForwardTarget(Microsoft.Extensions.Options.IOptionsMonitor<AuthenticationSchemeOptions> options, Microsoft.Extensions.Logging.ILoggerFactory logger, System.Text.Encodings.Web.UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Forwarded";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
        Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(
            new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "forwarded")], SchemeName)), SchemeName)));
}
