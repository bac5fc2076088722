using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TokenGate.Server.Hosting;
using TokenGate.Server.Security;
using TokenGate.Storage;
using TokenGate.Tokens;

namespace TokenGate.Server.Api;

/// <summary>
/// <c>token.php</c>: the four actions of the ContactNow token API over GET and POST, answered in JSON or XML. Every outcome,
/// success or failure, is HTTP 200 with a contract body, except the transport-level ones the contract lists (405, 413, 429,
/// 503), which carry a contract body too.
/// </summary>
public sealed class TokenEndpoint(
    TokenService tokens,
    TokenValidator validator,
    LoginThrottle throttle,
    TokenGateSettings settings,
    TokenGateMetrics metrics,
    AuditTrail audit,
    TimeProvider time,
    ILogger<TokenEndpoint> logger)
{
    /// <summary>newpass attempts are counted per client IP under a key no username can take.</summary>
    private const string NewpassThrottleKey = "(newpass)";

    private static readonly Microsoft.Extensions.Primitives.StringValues NoStore = "no-store";

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = "GET, POST";
            await WriteAsync(context, FormatFromQuery(request), ContractResponse.Failure(ContractErrors.MethodNotAllowed, StatusCodes.Status405MethodNotAllowed));
            return;
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var cancellationToken = context.RequestAborted;
        var arguments = await ContractArguments.ReadAsync(request, cancellationToken);
        var formatText = arguments[ContractArguments.Format];
        var format = ParseFormat(formatText, out var formatKnown);

        var response = arguments.Problem switch
        {
            ArgumentProblem.TooLarge => ContractResponse.Failure(ContractErrors.RequestTooLarge, StatusCodes.Status413PayloadTooLarge),
            ArgumentProblem.MalformedBody => ContractResponse.Failure(ContractErrors.BadRequest, StatusCodes.Status400BadRequest),
            ArgumentProblem.Repeated => ContractResponse.Failure(ContractErrors.BadArgument(arguments.ProblemArgument!)),
            _ when !formatKnown => ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Format)),
            _ => await DispatchAsync(context, arguments, cancellationToken),
        };

        var action = ActionName(arguments[ContractArguments.Action]);
        metrics.Request(action, response.Success ? "success" : response.Error!);
        await WriteAsync(context, format, response);
        metrics.RequestDuration(action, System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }

    private async ValueTask<ContractResponse> DispatchAsync(HttpContext context, ContractArguments arguments, CancellationToken cancellationToken)
    {
        var action = arguments[ContractArguments.Action];
        var caller = AddressSet.Normalize(context.Connection.RemoteIpAddress ?? IPAddress.IPv6None);
        try
        {
            if (string.Equals(action, "validate", StringComparison.OrdinalIgnoreCase))
            {
                return await ValidateAsync(arguments, caller, cancellationToken);
            }

            if (string.Equals(action, "get", StringComparison.OrdinalIgnoreCase))
            {
                return await GetAsync(context, arguments, caller, cancellationToken);
            }

            if (string.Equals(action, "delete", StringComparison.OrdinalIgnoreCase))
            {
                return await DeleteAsync(arguments, caller, cancellationToken);
            }

            if (string.Equals(action, "newpass", StringComparison.OrdinalIgnoreCase))
            {
                return await ChangePasswordAsync(context, arguments, caller, cancellationToken);
            }

            return ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Action));
        }
        catch (StorageUnavailableException exception)
        {
            Log.StorageUnavailable(logger, action!, exception.Message);
            context.Response.Headers.RetryAfter = "1";
            return ContractResponse.Failure(ContractErrors.ServiceUnavailable, StatusCodes.Status503ServiceUnavailable);
        }
    }

    private async ValueTask<ContractResponse> GetAsync(HttpContext context, ContractArguments arguments, IPAddress caller, CancellationToken cancellationToken)
    {
        if (RefusedQueryPassword(arguments))
        {
            return ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Password));
        }

        var username = arguments[ContractArguments.Username];
        if (await ThrottleAsync(context, username, caller, "get", cancellationToken) is { } refused)
        {
            return refused;
        }

        var addressText = arguments[ContractArguments.Address];
        AddressSet? addresses;
        if (string.IsNullOrWhiteSpace(addressText))
        {
            addresses = AddressSet.Single(caller);
        }
        else if (!AddressSet.TryParse(addressText, out addresses))
        {
            return ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Address));
        }

        var result = await tokens.GetTokenAsync(username, arguments[ContractArguments.Password], addresses!, cancellationToken);
        switch (result.Status)
        {
            case IssueStatus.Issued:
                throttle.RecordSuccess(username, caller);
                if (result.IsNew)
                {
                    metrics.TokenIssued();
                    audit.Record(result.AccountName, caller.ToString(), AuditActions.Get, AuditActions.Issued, TokenValue.IdOf(result.Digest));
                    Log.TokenIssued(logger, result.AccountName!, TokenValue.IdOf(result.Digest), addresses!.Key, result.ExpiresAt);
                }
                else
                {
                    Log.TokenReturned(logger, result.AccountName!, TokenValue.IdOf(result.Digest), addresses!.Key, result.ExpiresAt);
                }

                return new ContractResponse(true, result.Token, result.ExpiresAt);
            case IssueStatus.TooManyTokens:
                Log.TooManyTokens(logger, result.AccountName!, tokens.Options.MaxActiveTokensPerAccount);
                audit.Record(result.AccountName, caller.ToString(), AuditActions.Get, AuditActions.TooManyTokens);
                return ContractResponse.Failure(ContractErrors.TooManyTokens);
            default:
                throttle.RecordFailure(username, caller);
                metrics.AuthenticationFailed();
                audit.Record(result.AccountName, caller.ToString(), AuditActions.Get, AuditActions.AuthenticationFailure);
                if (result.AccountName is null)
                {
                    Log.AuthenticationFailedUnknown(logger, caller.ToString());
                }
                else
                {
                    Log.AuthenticationFailed(logger, result.AccountName, caller.ToString());
                }

                return ContractResponse.Failure(ContractErrors.AuthenticationFailure);
        }
    }

    private async ValueTask<ContractResponse> ValidateAsync(ContractArguments arguments, IPAddress caller, CancellationToken cancellationToken)
    {
        var validation = await validator.ValidateAsync(arguments[ContractArguments.Token], caller, cancellationToken);
        return ToResponse(validation.Status, validation.Token?.ExpiresAt);
    }

    private async ValueTask<ContractResponse> DeleteAsync(ContractArguments arguments, IPAddress caller, CancellationToken cancellationToken)
    {
        var validation = await tokens.DeleteAsync(arguments[ContractArguments.Token], caller, cancellationToken);
        if (validation.Status != TokenStatus.Valid)
        {
            return ToResponse(validation.Status, expire: null);
        }

        Log.TokenDeleted(logger, TokenValue.IdOf(validation.Token!.Digest), validation.Token.AccountName, caller.ToString());
        audit.Record(validation.Token.AccountName, caller.ToString(), AuditActions.Delete, AuditActions.Deleted, TokenValue.IdOf(validation.Token.Digest));
        return new ContractResponse(true);
    }

    private async ValueTask<ContractResponse> ChangePasswordAsync(HttpContext context, ContractArguments arguments, IPAddress caller, CancellationToken cancellationToken)
    {
        if (RefusedQueryPassword(arguments))
        {
            return ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Password));
        }

        if (await ThrottleAsync(context, NewpassThrottleKey, caller, "newpass", cancellationToken) is { } refused)
        {
            return refused;
        }

        var result = await tokens.ChangePasswordAsync(arguments[ContractArguments.Token], caller, arguments[ContractArguments.Password], cancellationToken);
        if (result.TokenStatus != TokenStatus.Valid)
        {
            throttle.RecordFailure(NewpassThrottleKey, caller);
            return ToResponse(result.TokenStatus, expire: null);
        }

        if (!result.PasswordAccepted)
        {
            return ContractResponse.Failure(ContractErrors.BadArgument(ContractArguments.Password));
        }

        Log.PasswordChanged(logger, result.Token!.AccountName, TokenValue.IdOf(result.Token.Digest), caller.ToString());
        audit.Record(result.Token.AccountName, caller.ToString(), AuditActions.NewPassword, AuditActions.PasswordChanged, TokenValue.IdOf(result.Token.Digest));
        return new ContractResponse(true);
    }

    /// <summary>With <c>--require-post-credentials</c>, a password that came in the query string (and so into access logs) is refused.</summary>
    private bool RefusedQueryPassword(ContractArguments arguments) =>
        settings.RequirePostCredentials && arguments[ContractArguments.Password] is not null && !arguments.CameFromBody(ContractArguments.Password);

    /// <summary>Applies the brute-force policy: null to go on (perhaps after a delay), or the 429 answer.</summary>
    private async ValueTask<ContractResponse?> ThrottleAsync(HttpContext context, string? username, IPAddress caller, string action, CancellationToken cancellationToken)
    {
        var decision = throttle.Check(username, caller);
        if (decision.Action == ThrottleAction.Delay)
        {
            await Task.Delay(decision.Duration, time, cancellationToken);
            return null;
        }

        if (decision.Action == ThrottleAction.Allow)
        {
            return null;
        }

        metrics.RateLimited(action);
        audit.Record(account: null, caller.ToString(), action, AuditActions.RateLimited);
        Log.RateLimited(logger, action, caller.ToString(), decision.Duration);
        context.Response.Headers.RetryAfter = Math.Ceiling(decision.Duration.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ContractResponse.Failure(ContractErrors.TooManyRequests, StatusCodes.Status429TooManyRequests);
    }

    /// <summary>The action as a metric tag: one of the four, or <c>other</c> (never the raw text a client sent).</summary>
    private static string ActionName(string? action) =>
        string.Equals(action, "validate", StringComparison.OrdinalIgnoreCase) ? "validate"
        : string.Equals(action, "get", StringComparison.OrdinalIgnoreCase) ? "get"
        : string.Equals(action, "delete", StringComparison.OrdinalIgnoreCase) ? "delete"
        : string.Equals(action, "newpass", StringComparison.OrdinalIgnoreCase) ? "newpass"
        : "other";

    private static ContractResponse ToResponse(TokenStatus status, long? expire) => status switch
    {
        TokenStatus.Valid => new ContractResponse(true, Expire: expire),
        TokenStatus.Expired => new ContractResponse(false, Error: ContractErrors.ExpiredToken, Expire: -1),
        _ => ContractResponse.Failure(ContractErrors.InvalidToken),
    };

    /// <summary>json (the default) or xml, ignoring case. Anything else is answered in JSON.</summary>
    public static ContractFormat ParseFormat(string? text, out bool known)
    {
        known = true;
        if (string.IsNullOrEmpty(text) || string.Equals(text, "json", StringComparison.OrdinalIgnoreCase))
        {
            return ContractFormat.Json;
        }

        if (string.Equals(text, "xml", StringComparison.OrdinalIgnoreCase))
        {
            return ContractFormat.Xml;
        }

        known = false;
        return ContractFormat.Json;
    }

    /// <summary>The format asked for in the query string, for answers given before the body is read.</summary>
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
                return ParseFormat(pair.DecodeValue().ToString(), out _);
            }
        }

        return ContractFormat.Json;
    }

    /// <summary>Writes a contract body with its length, never cached by clients or proxies (it may hold a token).</summary>
    public static Task WriteAsync(HttpContext context, ContractFormat format, ContractResponse response)
    {
        // Rendered and copied into the response pipe before any await, so one buffer per thread serves every request.
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        response.Render(format, buffer);
        var http = context.Response;
        http.StatusCode = response.StatusCode;
        http.ContentType = ContractResponse.ContentType(format);
        http.ContentLength = buffer.WrittenCount;
        http.Headers.CacheControl = NoStore;
        http.BodyWriter.Write(buffer.WrittenSpan);
        var flush = http.BodyWriter.FlushAsync(context.RequestAborted);
        return flush.IsCompletedSuccessfully ? Task.CompletedTask : flush.AsTask();
    }
}
