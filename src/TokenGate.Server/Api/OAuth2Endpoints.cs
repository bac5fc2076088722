using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using TokenGate.Accounts;

namespace TokenGate.Server.Api;

/// <summary>
/// OAuth 2.0 over the same tokens and accounts as token.php: the client credentials grant (RFC 6749 §4.4; client id = username,
/// client secret = password), revocation (RFC 7009) and introspection (RFC 7662, for accounts marked as resource servers).
/// Tokens issued here are the ContactNow tokens: bound to the caller's address, valid for the same lifetime, usable with
/// token.php. Every answer carries <c>Cache-Control: no-store</c>.
/// </summary>
public sealed class OAuth2Endpoints(
    TokenService tokens,
    TokenValidator validator,
    LoginGate gate,
    TokenIssuance issuance,
    TokenGateMetrics metrics,
    AuditTrail audit,
    TimeProvider time,
    ILogger<OAuth2Endpoints> logger)
{
    private const string Realm = "Basic realm=\"TokenGate\", charset=\"UTF-8\"";
    private const string InactiveBody = "{\"active\":false}";

    private static readonly FormOptions FormLimits = new()
    {
        BufferBody = false,
        ValueCountLimit = 16,
        KeyLengthLimit = 64,
        ValueLengthLimit = ContractArguments.MaxValueLength,
        MultipartBodyLengthLimit = ContractArguments.MaxBodyLength,
    };

    /// <summary>POST /oauth2/token.</summary>
    public async Task TokenAsync(HttpContext context)
    {
        var request = await ReadAsync(context);
        if (request.Error is { } error)
        {
            await WriteErrorAsync(context, error.Status, error.Code, error.Description);
            return;
        }

        var form = request.Form!;
        var grantType = Single(form, "grant_type");
        if (grantType is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", "grant_type is required.");
            return;
        }

        if (!string.Equals(grantType, "client_credentials", StringComparison.Ordinal))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "unsupported_grant_type", "Only client_credentials is supported.");
            return;
        }

        var caller = Caller(context);
        var client = await AuthenticateClientAsync(context, request, caller, "token");
        if (client is null)
        {
            return;
        }

        var result = await issuance.IssueAsync(client, AddressSet.Single(caller), Attempt(request, caller, "token"), context.RequestAborted);
        switch (result.Status)
        {
            case IssueStatus.Issued:
                var expiresIn = Math.Max(0, result.ExpiresAt - time.GetUtcNow().ToUnixTimeSeconds());
                await WriteJsonAsync(context, StatusCodes.Status200OK, json =>
                {
                    json.WriteString("access_token", result.Token);
                    json.WriteString("token_type", "Bearer");
                    json.WriteNumber("expires_in", expiresIn);
                });
                return;
            case IssueStatus.TooManyTokens:
                await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", "The client holds the most tokens it may.");
                return;
            default:
                // The password changed between the check and the issue (the issuance counted the failure).
                await ChallengeAsync(context);
                return;
        }
    }

    /// <summary>POST /oauth2/revoke: an authenticated client revokes one of its own tokens. Unknown tokens are not an error.</summary>
    public async Task RevokeAsync(HttpContext context)
    {
        var request = await ReadAsync(context);
        if (request.Error is { } error)
        {
            await WriteErrorAsync(context, error.Status, error.Code, error.Description);
            return;
        }

        var token = Single(request.Form!, "token");
        if (token is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", "token is required.");
            return;
        }

        var caller = Caller(context);
        var client = await AuthenticateClientAsync(context, request, caller, "revoke");
        if (client is null)
        {
            return;
        }

        var revoked = await tokens.RevokeAsync(token, client.Id, context.RequestAborted);
        if (revoked.Status == TokenStatus.Valid)
        {
            audit.Record(client.Name, caller.ToString(), AuditActions.Delete, AuditActions.Deleted, TokenValue.IdOf(revoked.Token!.Digest));
            metrics.TokenDeleted();
        }

        NoStore(context);
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary>POST /oauth2/introspect: for resource servers only. Anything but an active token answers exactly <c>{"active":false}</c>.</summary>
    public async Task IntrospectAsync(HttpContext context)
    {
        var request = await ReadAsync(context);
        if (request.Error is { } error)
        {
            await WriteErrorAsync(context, error.Status, error.Code, error.Description);
            return;
        }

        var caller = Caller(context);
        var client = await AuthenticateClientAsync(context, request, caller, "introspect");
        if (client is null)
        {
            return;
        }

        if (!client.CanIntrospect)
        {
            Log.IntrospectionRefused(logger, client.Name, caller.ToString());
            audit.RecordRepeated(client.Name, caller.ToString(), AuditActions.Introspect, AuditActions.NotResourceServer);
            await ChallengeAsync(context);
            return;
        }

        var token = Single(request.Form!, "token");
        if (token is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", "token is required.");
            return;
        }

        var verdict = await validator.IntrospectAsync(token, context.RequestAborted);
        metrics.Introspection(verdict.Status == TokenStatus.Valid);
        if (verdict.Status != TokenStatus.Valid)
        {
            NoStore(context);
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = InactiveBody.Length;
            await context.Response.WriteAsync(InactiveBody, context.RequestAborted);
            return;
        }

        var stored = verdict.Token!;
        await WriteJsonAsync(context, StatusCodes.Status200OK, json =>
        {
            json.WriteBoolean("active", true);
            json.WriteString("username", stored.AccountName);
            json.WriteString("client_id", stored.AccountName);
            json.WriteString("token_type", "Bearer");
            json.WriteNumber("exp", stored.ExpiresAt);
            json.WriteNumber("iat", stored.IssuedAt);
            json.WriteString("jti", TokenValue.IdOf(stored.Digest));
            json.WriteStartArray("addresses");
            foreach (var address in verdict.Addresses!.Addresses)
            {
                json.WriteStringValue(address.ToString());
            }

            json.WriteEndArray();
        });
    }

    /// <summary>Client authentication: HTTP Basic (RFC 6749 §2.3.1) or client_id/client_secret in the body, not both.</summary>
    private async Task<AccountRecord?> AuthenticateClientAsync(HttpContext context, ClientRequest request, IPAddress caller, string endpoint)
    {
        if (request.ClientId is null || request.ClientSecret is null)
        {
            await ChallengeAsync(context);
            return null;
        }

        LoginOutcome<AccountRecord> login;
        try
        {
            login = await gate.AuthenticateAsync(Attempt(request, caller, endpoint), request.ClientSecret, context.RequestAborted);
        }
        catch (PasswordHashingBusyException busy)
        {
            if (busy.CallerFlooding)
            {
                // A 429 of the guessing defences, as token.php counts its own (TokenEndpoint.PasswordChecksBusy).
                metrics.RateLimited(endpoint);
            }

            context.Response.Headers.RetryAfter = PasswordHashingBusyException.RetryAfterSeconds;
            await (busy.CallerFlooding
                ? WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, "too_many_requests", "Too many client authentications in flight; retry later.")
                : WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", "Every password check is busy; retry shortly."));
            return null;
        }

        switch (login.Status)
        {
            case LoginStatus.Admitted:
                return login.Value;
            case LoginStatus.Refused:
                context.Response.Headers.RetryAfter = login.RetryAfterSeconds;
                await WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, "too_many_requests", "Too many failed attempts; retry later.");
                return null;
            default:
                await ChallengeAsync(context);
                return null;
        }
    }

    private static LoginAttempt Attempt(ClientRequest request, IPAddress caller, string endpoint) => new(request.ClientId, caller, endpoint);

    /// <summary>invalid_client: 401 with a Basic challenge (RFC 6749 §5.2).</summary>
    private static Task ChallengeAsync(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = Realm;
        return WriteErrorAsync(context, StatusCodes.Status401Unauthorized, "invalid_client", "Client authentication failed.");
    }

    private static async Task<ClientRequest> ReadAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = "POST";
            return ClientRequest.Failed(StatusCodes.Status405MethodNotAllowed, "invalid_request", "Use POST.");
        }

        if (!request.HasFormContentType || request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) != true)
        {
            return ClientRequest.Failed(StatusCodes.Status400BadRequest, "invalid_request", "The body must be application/x-www-form-urlencoded.");
        }

        var (form, problem) = await FormBody.ReadAsync(request, FormLimits, context.RequestAborted);
        if (problem == FormProblem.TooLarge)
        {
            return ClientRequest.Failed(StatusCodes.Status413PayloadTooLarge, "invalid_request", "The request is too large.");
        }

        if (form is null)
        {
            // Malformed (bad chunking, cut short, not a form), over a form limit, or in a charset the runtime refuses to decode.
            return ClientRequest.Failed(StatusCodes.Status400BadRequest, "invalid_request", "The body cannot be read as a form.");
        }

        foreach (var (_, values) in form)
        {
            if (values.Count > 1)
            {
                // RFC 6749 §3.2: parameters must not be included more than once.
                return ClientRequest.Failed(StatusCodes.Status400BadRequest, "invalid_request", "A parameter is repeated.");
            }
        }

        var formId = Single(form, "client_id");
        var formSecret = Single(form, "client_secret");
        var basic = ParseBasic(request.Headers.Authorization);
        if (basic is not null && (formId is not null || formSecret is not null))
        {
            return ClientRequest.Failed(StatusCodes.Status400BadRequest, "invalid_request", "Use one client authentication method.");
        }

        return new ClientRequest(form, basic?.Id ?? formId, basic?.Secret ?? formSecret, null);
    }

    /// <summary>The id and secret of a Basic header, each form-urlencoded before base64 as RFC 6749 §2.3.1 says.</summary>
    private static (string Id, string Secret)? ParseBasic(StringValues header)
    {
        var value = header.ToString();
        if (!value.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        Span<byte> decoded = stackalloc byte[Math.Min(value.Length, 8192)];
        if (!Convert.TryFromBase64String(value[6..].Trim(), decoded, out var written))
        {
            return null;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(decoded[..written]);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? null : (WebUtility.UrlDecode(text[..colon]), WebUtility.UrlDecode(text[(colon + 1)..]));
    }

    private static string? Single(IFormCollection form, string name) => form.TryGetValue(name, out var values) && values.Count == 1 ? values[0] : null;

    private static IPAddress Caller(HttpContext context) => AddressSet.Normalize(context.Connection.RemoteIpAddress ?? IPAddress.IPv6None);

    private static void NoStore(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
    }

    /// <summary>
    /// The RFC 6749 §5.2 answer to a failure that escaped an endpoint: 503 <c>temporarily_unavailable</c> (with
    /// <c>Retry-After</c>) when the store cannot be reached, 500 <c>server_error</c> for a bug.
    /// </summary>
    public static Task WriteFailureAsync(HttpContext context, Exception? exception)
    {
        if (exception is StorageUnavailableException)
        {
            context.Response.Headers.RetryAfter = "1";
            return WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", "The service cannot reach its database now; retry shortly.");
        }

        return WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "server_error", "The server failed to answer.");
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string code, string description) =>
        WriteJsonAsync(context, status, json =>
        {
            json.WriteString("error", code);
            json.WriteString("error_description", description);
        });

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        NoStore(context);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private sealed record ClientRequest(IFormCollection? Form, string? ClientId, string? ClientSecret, (int Status, string Code, string Description)? Error)
    {
        public static ClientRequest Failed(int status, string code, string description) => new(null, null, null, (status, code, description));

        /// <summary>Never prints the secret.</summary>
        public override string ToString() => $"client {ClientId ?? "-"}";
    }
}
