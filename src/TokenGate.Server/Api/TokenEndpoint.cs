using System.Buffers;
using System.Net;
using TokenGate.Accounts;
using TokenGate.Contract;

namespace TokenGate.Server.Api;

/// <summary>
/// <c>token.php</c>: the four actions of the ContactNow token API over GET and POST, answered in JSON or XML. It parses, calls
/// the token services (credential checks through the <see cref="LoginGate"/>) and renders: every outcome is HTTP 200 with a
/// contract body, except the transport-level ones the contract lists (400, 404, 405, 413, 429, 503), which carry one too.
/// </summary>
public sealed class TokenEndpoint(
    TokenService tokens,
    TokenValidator validator,
    LoginGate gate,
    TokenIssuance issuance,
    TokenGateSettings settings,
    TokenGateMetrics metrics,
    AuditTrail audit,
    ILogger<TokenEndpoint> logger)
{
    private static readonly Microsoft.Extensions.Primitives.StringValues NoStore = "no-store";

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        // HEAD is answered as GET (RFC 9110 §9.3.2); Kestrel drops the body of a HEAD response and keeps its headers.
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = "GET, HEAD, POST";
            await WriteAsync(context, FormatFromQuery(request), ContractResponse.Failure(ContractErrors.MethodNotAllowed, StatusCodes.Status405MethodNotAllowed));
            return;
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var cancellationToken = context.RequestAborted;
        var arguments = await ContractArguments.ReadAsync(request, cancellationToken);
        var format = ContractFormats.Parse(arguments[ContractArguments.Format], out var formatKnown);
        var action = ContractActions.Parse(arguments[ContractArguments.Action]);

        var response = arguments.Problem switch
        {
            ArgumentProblem.TooLarge => ContractResponse.Failure(ContractErrors.RequestTooLarge, StatusCodes.Status413PayloadTooLarge),
            ArgumentProblem.MalformedBody => ContractResponse.Failure(ContractErrors.BadRequest, StatusCodes.Status400BadRequest),
            ArgumentProblem.Repeated => ContractResponse.Failure(ContractErrors.BadArgument(arguments.ProblemArgument!)),
            _ when !formatKnown => ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Format)),
            _ => await DispatchAsync(context, action, arguments, cancellationToken),
        };

        var actionName = action.Name();
        metrics.Request(actionName, response.Success ? "success" : response.Error!);
        await WriteAsync(context, format, response);
        metrics.RequestDuration(actionName, System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }

    private async ValueTask<ContractResponse> DispatchAsync(HttpContext context, ContractAction action, ContractArguments arguments, CancellationToken cancellationToken)
    {
        var caller = AddressSet.Normalize(context.Connection.RemoteIpAddress ?? IPAddress.IPv6None);
        try
        {
            return action switch
            {
                ContractAction.Validate => await ValidateAsync(arguments, caller, cancellationToken),
                ContractAction.Get => await GetAsync(context, arguments, caller, cancellationToken),
                ContractAction.Delete => await DeleteAsync(arguments, caller, cancellationToken),
                ContractAction.Newpass => await ChangePasswordAsync(context, arguments, caller, cancellationToken),
                _ => ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Action)),
            };
        }
        catch (StorageUnavailableException exception)
        {
            Log.StorageUnavailable(logger, action.Name(), exception.Message);
            return ServiceUnavailable(context);
        }
        catch (PasswordHashingBusyException busy)
        {
            return PasswordChecksBusy(context, busy, action.Name());
        }
    }

    private async ValueTask<ContractResponse> GetAsync(HttpContext context, ContractArguments arguments, IPAddress caller, CancellationToken cancellationToken)
    {
        if (RefusedQueryPassword(arguments))
        {
            return ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Password));
        }

        var addressText = arguments[ContractArguments.Address];
        AddressSet? addresses;
        if (string.IsNullOrWhiteSpace(addressText))
        {
            addresses = AddressSet.Single(caller);
        }
        else if (!AddressSet.TryParseForBinding(addressText, out addresses))
        {
            return ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Address));
        }

        var attempt = new LoginAttempt(arguments[ContractArguments.Username], caller, AuditActions.Get);
        var login = await gate.AuthenticateAsync(attempt, arguments[ContractArguments.Password], cancellationToken);
        if (login.Status != LoginStatus.Admitted)
        {
            return login.Status == LoginStatus.Refused ? TooManyRequests(context, login.RetryAfterSeconds) : ContractResponse.Failure(ContractErrors.AuthenticationFailure);
        }

        var result = await issuance.IssueAsync(login.Value!, addresses!, attempt, cancellationToken);
        return result.Status switch
        {
            IssueStatus.Issued => new ContractResponse(true, result.Token, result.ExpiresAt),
            IssueStatus.TooManyTokens => ContractResponse.Failure(ContractErrors.TooManyTokens),
            IssueStatus.AddressNotAllowed => ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Address)),
            _ => ContractResponse.Failure(ContractErrors.AuthenticationFailure),
        };
    }

    private ValueTask<ContractResponse> ValidateAsync(ContractArguments arguments, IPAddress caller, CancellationToken cancellationToken)
    {
        // The hot path (a cached or a forged token) completes at once: no async layer of its own.
        var validation = validator.ValidateAsync(arguments[ContractArguments.Token], caller, cancellationToken);
        return validation.IsCompletedSuccessfully ? new ValueTask<ContractResponse>(Answer(validation.Result)) : AnswerWhenValidatedAsync(validation);

        static async ValueTask<ContractResponse> AnswerWhenValidatedAsync(ValueTask<TokenValidation> validation) => Answer(await validation);

        static ContractResponse Answer(TokenValidation validation) => ContractResponse.ForToken(validation.Status, validation.Token?.ExpiresAt);
    }

    private async ValueTask<ContractResponse> DeleteAsync(ContractArguments arguments, IPAddress caller, CancellationToken cancellationToken)
    {
        var validation = await tokens.DeleteAsync(arguments[ContractArguments.Token], caller, cancellationToken);
        if (validation.Status != TokenStatus.Valid)
        {
            return ContractResponse.ForToken(validation.Status, expire: null);
        }

        var tokenId = TokenValue.IdOf(validation.Token!.Digest);
        Log.TokenDeleted(logger, tokenId, validation.Token.AccountName, caller.ToString());
        audit.Record(validation.Token.AccountName, caller.ToString(), AuditActions.Delete, AuditActions.Deleted, tokenId);
        metrics.TokenDeleted();
        return new ContractResponse(true);
    }

    private async ValueTask<ContractResponse> ChangePasswordAsync(HttpContext context, ContractArguments arguments, IPAddress caller, CancellationToken cancellationToken)
    {
        if (RefusedQueryPassword(arguments))
        {
            return ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Password));
        }

        // The token is the credential: a guessed token fails here, and is throttled like a guessed password (per client IP).
        var attempt = new LoginAttempt(LoginGate.NewpassThrottleKey, caller, AuditActions.NewPassword, CountsAsAuthentication: false);
        var login = await gate.AttemptAsync(
            attempt,
            async token =>
            {
                var result = await tokens.ChangePasswordAsync(arguments[ContractArguments.Token], caller, arguments[ContractArguments.Password], token);
                return result.TokenStatus == TokenStatus.Valid
                    ? LoginCheck<PasswordChangeResult>.Pass(result)
                    : result.OutsideAllowedNetworks
                        ? LoginCheck<PasswordChangeResult>.FailOutsideAllowedNetworks(result.Token!.AccountName, result)
                        : LoginCheck<PasswordChangeResult>.Fail(null, result);
            },
            cancellationToken);
        if (login.Status == LoginStatus.Refused)
        {
            return TooManyRequests(context, login.RetryAfterSeconds);
        }

        var changed = login.Value;
        if (changed.OutsideAllowedNetworks)
        {
            // As a wrong password to get would be: the account may not be used from here (the gate recorded why).
            return ContractResponse.Failure(ContractErrors.AuthenticationFailure);
        }

        if (login.Status == LoginStatus.Failed)
        {
            // A guessed (or stale) token: aggregated per address and minute, so a flood of guesses adds one entry a minute.
            audit.RecordRepeated(
                account: null, caller.ToString(), AuditActions.NewPassword, changed.TokenStatus == TokenStatus.Expired ? AuditActions.ExpiredToken : AuditActions.InvalidToken);
            return ContractResponse.ForToken(changed.TokenStatus, expire: null);
        }

        if (!changed.PasswordAccepted)
        {
            return ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Password));
        }

        var tokenId = TokenValue.IdOf(changed.Token!.Digest);
        Log.PasswordChanged(logger, changed.Token.AccountName, tokenId, caller.ToString());
        audit.Record(changed.Token.AccountName, caller.ToString(), AuditActions.NewPassword, AuditActions.PasswordChanged, tokenId);
        return new ContractResponse(true);
    }

    /// <summary>With <c>--require-post-credentials</c>, a password that came in the query string (and so into access logs) is refused.</summary>
    private bool RefusedQueryPassword(ContractArguments arguments) =>
        settings.RequirePostCredentials && arguments[ContractArguments.Password] is not null && !arguments.CameFromBody(ContractArguments.Password);

    private static ContractResponse TooManyRequests(HttpContext context, string retryAfterSeconds)
    {
        context.Response.Headers.RetryAfter = retryAfterSeconds;
        return ContractResponse.Failure(ContractErrors.TooManyRequests, StatusCodes.Status429TooManyRequests);
    }

    /// <summary>A password check refused by the bounded queue: 429 for the caller that floods, 503 when every turn stayed taken.</summary>
    private ContractResponse PasswordChecksBusy(HttpContext context, PasswordHashingBusyException busy, string action)
    {
        if (busy.CallerFlooding)
        {
            metrics.RateLimited(action);
            return TooManyRequests(context, PasswordHashingBusyException.RetryAfterSeconds);
        }

        return ServiceUnavailable(context);
    }

    /// <summary>503 with <c>Retry-After: 1</c>: the store cannot be reached now.</summary>
    public static ContractResponse ServiceUnavailable(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        return ContractResponse.Failure(ContractErrors.ServiceUnavailable, StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The format asked for in the query string, for answers given before (or without) the body being read.</summary>
    public static ContractFormat FormatFromQuery(HttpRequest request)
    {
        var query = request.QueryString.Value;
        if (string.IsNullOrEmpty(query) || query.Length > ContractArguments.MaxQueryLength)
        {
            return ContractFormat.Json;
        }

        foreach (var pair in new Microsoft.AspNetCore.WebUtilities.QueryStringEnumerable(query))
        {
            if (pair.DecodeName().Span.Equals(ContractArguments.Format, StringComparison.OrdinalIgnoreCase))
            {
                return ContractFormats.Parse(pair.DecodeValue().ToString(), out _);
            }
        }

        return ContractFormat.Json;
    }

    /// <summary>Writes a contract body in the format the query string asks for (answers made outside an action).</summary>
    public static Task WriteAsync(HttpContext context, ContractResponse response) => WriteAsync(context, FormatFromQuery(context.Request), response);

    /// <summary>Writes a contract body with its length, never cached by clients or proxies (it may hold a token).</summary>
    public static Task WriteAsync(HttpContext context, ContractFormat format, ContractResponse response)
    {
        // Rendered into one buffer per thread and copied into the response pipe before any await. The headers are committed
        // first, so that the body goes straight into the pipe (written before the start, Kestrel would hold it in a buffer of
        // its own and copy it again); should an OnStarting callback not complete at once, the body waits in a copy of its own.
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        response.Render(format, buffer);
        var http = context.Response;
        http.StatusCode = response.StatusCode;
        http.ContentType = ContractResponse.ContentType(format);
        http.ContentLength = buffer.WrittenCount;
        http.Headers.CacheControl = NoStore;
        var start = http.StartAsync(CancellationToken.None);
        if (!start.IsCompletedSuccessfully)
        {
            return WriteWhenStartedAsync(context, start, buffer.WrittenSpan.ToArray());
        }

        http.BodyWriter.Write(buffer.WrittenSpan);
        var flush = http.BodyWriter.FlushAsync(context.RequestAborted);
        return flush.IsCompletedSuccessfully ? Task.CompletedTask : flush.AsTask();
    }

    private static async Task WriteWhenStartedAsync(HttpContext context, Task start, byte[] body)
    {
        await start;
        await context.Response.BodyWriter.WriteAsync(body, context.RequestAborted);
    }
}
