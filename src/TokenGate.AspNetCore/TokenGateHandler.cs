using System.Buffers;
using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using TokenGate.AspNetCore.Validation;
using TokenGate.Contract;
using TokenGate.Tokens;

namespace TokenGate.AspNetCore;

/// <summary>
/// Authenticates a request by its TokenGate token: from <c>Authorization: Bearer</c>, the <c>token</c> query parameter or a
/// <c>token</c> form field. No token: <see cref="AuthenticateResult.NoResult"/>. A bad, expired, revoked or wrong-address token:
/// <see cref="AuthenticateResult.Fail(Exception)"/> and an RFC 6750 challenge.
/// </summary>
internal sealed class TokenGateHandler(IOptionsMonitor<TokenGateOptions> options, ILoggerFactory logger, UrlEncoder encoder, TokenVerifiers verifiers)
    : AuthenticationHandler<TokenGateOptions>(options, logger, encoder)
{
    private const string BearerPrefix = "Bearer ";

    private new TokenGateEvents Events => (TokenGateEvents)base.Events!;

    protected override Task<object> CreateEventsAsync() => Task.FromResult<object>(new TokenGateEvents());

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var received = new MessageReceivedContext(Context, Scheme, Options);
        await Events.MessageReceived(received);
        if (received.Result is not null)
        {
            return received.Result;
        }

        var token = received.Token;
        if (string.IsNullOrEmpty(token))
        {
            var (found, conflicting) = await ReadTokenAsync();
            if (conflicting)
            {
                Log.ConflictingTokens(Logger, Context.Connection.RemoteIpAddress);
                return await FailAsync(new TokenGateAuthenticationException(TokenGateFailureReason.ConflictingTokens, "The request carries different tokens in more than one place."));
            }

            if (found is null)
            {
                return AuthenticateResult.NoResult();
            }

            token = found;
        }

        var client = ClientAddress.Resolve(Context, Options.TrustedProxies);
        TokenVerdict verdict;
        try
        {
            // Without the caller's address the binding cannot be checked: such a request is refused (as from a wrong address).
            verdict = client is null
                ? TokenVerdict.Invalid
                : await verifiers.Get(Scheme.Name, Options).VerifyAsync(token, client, Context.RequestAborted);
        }
        catch (TokenGateAuthenticationException exception)
        {
            Log.Unavailable(Logger, IdOf(token), client, exception.Message, exception.InnerException);
            return await FailAsync(exception);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !Context.RequestAborted.IsCancellationRequested)
        {
            Log.UnexpectedError(Logger, IdOf(token), exception);
            var failed = new AuthenticationFailedContext(Context, Scheme, Options) { Exception = exception };
            await Events.AuthenticationFailed(failed);
            if (failed.Result is not null)
            {
                return failed.Result;
            }

            throw;
        }

        switch (verdict.Status)
        {
            case VerdictStatus.Valid:
                Log.TokenAccepted(Logger, verdict.TokenId!, verdict.AccountName!, client!);
                return await SucceedAsync(verdict, client!);
            case VerdictStatus.Expired:
                Log.TokenRefused(Logger, IdOf(token), client, TokenGateFailureReason.ExpiredToken);
                return await FailAsync(new TokenGateAuthenticationException(TokenGateFailureReason.ExpiredToken, "The token expired."));
            default:
                Log.TokenRefused(Logger, IdOf(token), client, TokenGateFailureReason.InvalidToken);
                return await FailAsync(new TokenGateAuthenticationException(TokenGateFailureReason.InvalidToken, "The token is invalid."));
        }
    }

    private async Task<AuthenticateResult> SucceedAsync(TokenVerdict verdict, IPAddress client)
    {
        var issuer = ClaimsIssuer;
        var identity = new ClaimsIdentity(Scheme.Name, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.NameIdentifier, verdict.AccountName!, ClaimValueTypes.String, issuer));
        identity.AddClaim(new Claim(ClaimTypes.Name, verdict.AccountName!, ClaimValueTypes.String, issuer));
        identity.AddClaim(new Claim(TokenGateClaimTypes.TokenId, verdict.TokenId!, ClaimValueTypes.String, issuer));
        identity.AddClaim(new Claim(TokenGateClaimTypes.Expires, verdict.ExpiresAt.ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Integer64, issuer));

        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(verdict.ExpiresAt);
        var validated = new TokenValidatedContext(Context, Scheme, Options)
        {
            Principal = new ClaimsPrincipal(identity),
            Properties = new AuthenticationProperties
            {
                ExpiresUtc = expiresAt,
                IssuedUtc = verdict.IssuedAt > 0 ? DateTimeOffset.FromUnixTimeSeconds(verdict.IssuedAt) : null,
            },
            AccountName = verdict.AccountName!,
            TokenId = verdict.TokenId!,
            ExpiresAt = expiresAt,
            Addresses = verdict.Addresses ?? [],
            ClientAddress = client,
        };

        await Events.TokenValidated(validated);
        if (validated.Result is not null)
        {
            return validated.Result;
        }

        validated.Success();
        return validated.Result!;
    }

    private async Task<AuthenticateResult> FailAsync(TokenGateAuthenticationException exception)
    {
        var failed = new AuthenticationFailedContext(Context, Scheme, Options) { Exception = exception };
        await Events.AuthenticationFailed(failed);
        return failed.Result ?? AuthenticateResult.Fail(failed.Exception);
    }

    /// <summary>
    /// The token from the header, the query and a urlencoded form, as enabled. The same token in several places is one token;
    /// different ones are refused (RFC 6750 §2: one method per request). Empty values count as absent.
    /// </summary>
    private async ValueTask<(string? Token, bool Conflicting)> ReadTokenAsync()
    {
        string? token = null;
        foreach (var value in Request.Headers.Authorization)
        {
            if (value is not null && value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) && !Offer(ref token, value.AsSpan(BearerPrefix.Length).Trim().ToString()))
            {
                return (null, true);
            }
        }

        if (Options.ReadTokenFromQuery && !OfferAll(ref token, Request.Query[TokenGateDefaults.TokenParameterName]))
        {
            return (null, true);
        }

        if (Options.ReadTokenFromForm && IsUrlEncodedForm(Request))
        {
            try
            {
                var form = await Request.ReadFormAsync(Context.RequestAborted);
                if (!OfferAll(ref token, form[TokenGateDefaults.TokenParameterName]))
                {
                    return (null, true);
                }
            }
            catch (InvalidDataException exception)
            {
                // Over the form limits, or not a form at all: the endpoint will meet the same body and answer for it.
                Log.FormUnreadable(Logger, exception.Message);
            }
        }

        return (token, false);
    }

    private static bool OfferAll(ref string? token, StringValues values)
    {
        foreach (var value in values)
        {
            if (!Offer(ref token, value))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Adds one candidate; false when it differs from a token already found.</summary>
    private static bool Offer(ref string? token, string? candidate)
    {
        if (string.IsNullOrEmpty(candidate))
        {
            return true;
        }

        if (token is null)
        {
            token = candidate;
            return true;
        }

        return string.Equals(token, candidate, StringComparison.Ordinal);
    }

    private static bool IsUrlEncodedForm(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    /// <summary>The id to log for a refused token: its non-secret id when well-formed, else a dash (never the value). Not worked out
    /// for accepted tokens: the verdict carries it.</summary>
    private static string IdOf(string token) =>
        TokenValue.IsWellFormed(token) ? TokenValue.IdOf(TokenValue.ComputeDigest(token)) : "-";

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var failure = result.Failure;
        var reason = (failure as TokenGateAuthenticationException)?.Reason;
        var challenge = new TokenGateChallengeContext(Context, Scheme, Options, properties) { AuthenticateFailure = failure };

        // No token is not an error (RFC 6750 §3.1): a bare challenge. Any other failure is invalid_token, or invalid_request.
        if (Options.IncludeErrorDetails && failure is not null && reason != TokenGateFailureReason.ServiceUnavailable)
        {
            challenge.Error = reason == TokenGateFailureReason.ConflictingTokens ? "invalid_request" : "invalid_token";
            challenge.ErrorDescription = reason switch
            {
                TokenGateFailureReason.ExpiredToken => "The token expired",
                TokenGateFailureReason.ConflictingTokens => "The token was sent in more than one place",
                _ => "The token is invalid",
            };
        }

        await Events.Challenge(challenge);
        if (challenge.Handled)
        {
            return;
        }

        if (reason == TokenGateFailureReason.ServiceUnavailable)
        {
            // Not the client's fault: a 401 would make it throw its token away and log in again, to no avail.
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            Response.Headers.RetryAfter = "1";
            await WriteContractBodyAsync(ContractResponse.Failure(ContractErrors.ServiceUnavailable));
            return;
        }

        Response.StatusCode = reason == TokenGateFailureReason.ConflictingTokens ? StatusCodes.Status400BadRequest : StatusCodes.Status401Unauthorized;
        Response.Headers.Append(HeaderNames.WWWAuthenticate, WwwAuthenticate(Options.Challenge, challenge.Error, challenge.ErrorDescription, challenge.ErrorUri));
        if (Options.FailureStyle == TokenGateFailureStyle.ContactNow)
        {
            Response.StatusCode = StatusCodes.Status200OK;
            await WriteContactNowBodyAsync(ContractResponse.ForToken(reason == TokenGateFailureReason.ExpiredToken ? TokenStatus.Expired : TokenStatus.Invalid, expire: null));
        }
    }

    /// <summary>RFC 6750 §3: <c>Bearer</c>, or <c>Bearer error="...", error_description="..."</c>, after JwtBearer's format.</summary>
    internal static string WwwAuthenticate(string challenge, string? error, string? description, string? uri)
    {
        if (string.IsNullOrEmpty(error) && string.IsNullOrEmpty(description) && string.IsNullOrEmpty(uri))
        {
            return challenge;
        }

        var builder = new StringBuilder(challenge);
        var separator = challenge.Contains(' ', StringComparison.Ordinal) ? ", " : " ";
        foreach (var (name, value) in new[] { ("error", error), ("error_description", description), ("error_uri", uri) })
        {
            if (!string.IsNullOrEmpty(value))
            {
                builder.Append(separator).Append(name).Append("=\"").Append(value).Append('"');
                separator = ", ";
            }
        }

        return builder.ToString();
    }

    /// <summary>The body token.php would give, rendered by the contract's own renderer (JSON), when the failure style asks for one.</summary>
    private Task WriteContactNowBodyAsync(ContractResponse body) =>
        Options.FailureStyle == TokenGateFailureStyle.ContactNow ? WriteContractBodyAsync(body) : Task.CompletedTask;

    /// <summary>
    /// The body token.php would give, in JSON, whatever the failure style: for a 503, which RFC 6750 has no challenge for, so that
    /// the caller and whoever reads its logs see why instead of an empty response.
    /// </summary>
    private Task WriteContractBodyAsync(ContractResponse body)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        body.Render(ContractFormat.Json, buffer);
        Response.ContentType = ContractResponse.JsonContentType;
        Response.ContentLength = buffer.WrittenCount;
        Response.Headers.CacheControl = "no-store";
        return Response.Body.WriteAsync(buffer.WrittenMemory, Context.RequestAborted).AsTask();
    }
}
