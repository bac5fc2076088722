using System.Net;
using TokenGate.Client.Http;

namespace TokenGate.Client.Protocol;

/// <summary>
/// <c>token.php</c> over HTTP: builds the request (form body or query string), reads at most <see cref="MaxBodyBytes"/> of the
/// answer, and turns every outcome into a result or a typed exception that keeps the server's error text.
/// </summary>
internal sealed class TokenApiClient : ITokenApiClient
{
    /// <summary>A contract body is under 200 bytes; anything past this is not one.</summary>
    internal const int MaxBodyBytes = 16 * 1024;

    /// <summary>Tokens travel in headers and URLs: only visible ASCII is accepted, and not without end.</summary>
    private const int MaxTokenLength = 512;

    private readonly Func<HttpClient> _httpClient;
    private readonly TokenFormat _format;
    private readonly TokenRequestMethod _method;
    private readonly TimeProvider _time;
    private readonly string _host;

    public TokenApiClient(Func<HttpClient> httpClient, Uri endpoint, TokenFormat format, TokenRequestMethod method, TimeProvider time)
    {
        _httpClient = httpClient;
        Endpoint = endpoint;
        _format = format;
        _method = method;
        _time = time;
        _host = endpoint.Authority;
    }

    public Uri Endpoint { get; }

    public async Task<AccessToken> GetTokenAsync(string username, string password, IEnumerable<string>? addresses = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(password);
        var addressList = addresses is null ? string.Empty : string.Join(",", addresses.Select(a => a.Trim()).Where(a => a.Length > 0));
        var arguments = new List<KeyValuePair<string, string>>(5)
        {
            new("action", "get"),
            new("username", username),
            new("password", password),
        };
        if (addressList.Length > 0)
        {
            arguments.Add(new("address", addressList));
        }

        var (reply, response) = await CallAsync("get", arguments, cancellationToken);
        if (reply.Token is not { Length: > 0 and <= MaxTokenLength } token || !IsVisibleAscii(token) || reply.Expire is not { } expire)
        {
            throw new TokenTransportException($"The token API at {_host} answered 'get' with success but without a usable token and expiry.", "get", response.StatusCode);
        }

        return new AccessToken(token, DateTimeOffset.FromUnixTimeSeconds(expire), response.Headers.Date);
    }

    public async Task<DateTimeOffset> ValidateTokenAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        var (reply, response) = await CallAsync("validate", [new("action", "validate"), new("token", token)], cancellationToken);
        if (reply.Expire is not { } expire)
        {
            throw new TokenTransportException($"The token API at {_host} answered 'validate' with success but without an expiry.", "validate", response.StatusCode);
        }

        return DateTimeOffset.FromUnixTimeSeconds(expire);
    }

    public async Task DeleteTokenAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        await CallAsync("delete", [new("action", "delete"), new("token", token)], cancellationToken);
    }

    public async Task ChangePasswordAsync(string token, string newPassword, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(newPassword);
        await CallAsync("newpass", [new("action", "newpass"), new("token", token), new("password", newPassword)], cancellationToken);
    }

    private async Task<(ContractReply Reply, HttpResponseMessage Response)> CallAsync(string action, List<KeyValuePair<string, string>> arguments, CancellationToken cancellationToken)
    {
        if (_format == TokenFormat.Xml)
        {
            arguments.Add(new("format", "xml"));
        }

        using var request = BuildRequest(arguments);
        HttpResponseMessage response;
        BodyPrefix body;
        try
        {
            response = await _httpClient().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException exception)
        {
            throw new TokenTransportException($"The token API at {_host} could not be reached for '{action}': {exception.Message}", action, exception.StatusCode, exception);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TokenTransportException($"The token API at {_host} did not answer '{action}' in time.", action, innerException: exception);
        }

        using (response)
        {
            try
            {
                body = response.Content.Headers.ContentLength > MaxBodyBytes
                    ? default
                    : await BodyPrefix.ReadAsync(response.Content, MaxBodyBytes, cancellationToken);
            }
            catch (HttpRequestException exception)
            {
                throw new TokenTransportException($"The token API at {_host} broke off its answer to '{action}': {exception.Message}", action, response.StatusCode, exception);
            }
            catch (IOException exception)
            {
                throw new TokenTransportException($"The token API at {_host} broke off its answer to '{action}': {exception.Message}", action, response.StatusCode, exception);
            }
            catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TokenTransportException($"The token API at {_host} did not finish its answer to '{action}' in time.", action, response.StatusCode, exception);
            }

            var reply = default(ContractReply);
            var parsed = body.Complete && ContractReply.TryParse(body.Bytes, out reply) && reply.IsContractBody;
            if (parsed && reply.Success == true)
            {
                return (reply, response);
            }

            var status = response.StatusCode;
            if (status == HttpStatusCode.TooManyRequests)
            {
                var error = parsed && !string.IsNullOrEmpty(reply.Error) ? reply.Error : "Too many requests";
                var retryAfter = RetryAfter(response);
                var wait = retryAfter is { } delay ? $"; retry after {delay.TotalSeconds:0.###} s" : string.Empty;
                throw new TokenRateLimitedException($"The token API at {_host} is rate-limiting '{action}': {error} (HTTP 429{wait}).", action, error, status, retryAfter);
            }

            if (!parsed)
            {
                var mediaType = response.Content.Headers.ContentType?.MediaType ?? "no content type";
                throw new TokenTransportException($"The token API at {_host} answered '{action}' with HTTP {(int)status} and a body that is not a token API response ({mediaType}).", action, status);
            }

            throw Refusal(action, reply.Error ?? "(no error text)", status, RetryAfter(response));
        }
    }

    private TokenApiException Refusal(string action, string error, HttpStatusCode status, TimeSpan? retryAfter)
    {
        var message = $"The token API at {_host} refused '{action}': {error}" + (status == HttpStatusCode.OK ? "." : $" (HTTP {(int)status}).");
        return error switch
        {
            _ when error.Equals(TokenErrors.AuthenticationFailure, StringComparison.OrdinalIgnoreCase) => new TokenAuthenticationException(message, action, error, status),
            _ when error.Equals(TokenErrors.ExpiredToken, StringComparison.OrdinalIgnoreCase) => new ExpiredTokenException(message, action, error, status),
            _ when error.Equals(TokenErrors.InvalidToken, StringComparison.OrdinalIgnoreCase)
                || error.Equals(TokenErrors.UnknownToken, StringComparison.OrdinalIgnoreCase) => new InvalidTokenException(message, action, error, status),
            _ => new TokenApiException(message, action, error, status, retryAfter),
        };
    }

    private HttpRequestMessage BuildRequest(List<KeyValuePair<string, string>> arguments)
    {
        if (_method == TokenRequestMethod.Post)
        {
            return new HttpRequestMessage(HttpMethod.Post, Endpoint) { Content = new FormUrlEncodedContent(arguments!) };
        }

        var query = string.Join("&", arguments.Select(a => Uri.EscapeDataString(a.Key) + "=" + Uri.EscapeDataString(a.Value)));
        var baseText = Endpoint.GetComponents(UriComponents.HttpRequestUrl, UriFormat.UriEscaped);
        var separator = baseText.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        return new HttpRequestMessage(HttpMethod.Get, new Uri(baseText + separator + query, UriKind.Absolute));
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => TimeSpan.FromTicks(Math.Max(0, (date - (response.Headers.Date ?? _time.GetUtcNow())).Ticks)),
        _ => null,
    };

    private static bool IsVisibleAscii(string text)
    {
        foreach (var c in text)
        {
            if (c is <= ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>The error texts of the token API that a client acts on.</summary>
internal static class TokenErrors
{
    public const string AuthenticationFailure = "Authentication failure";
    public const string InvalidToken = "Invalid token";
    public const string ExpiredToken = "Expired token";

    /// <summary>Not in the contract, but seen from APIs that accept ContactNow tokens.</summary>
    public const string UnknownToken = "Unknown token";

    /// <summary>Whether an error text says the token used is no longer good.</summary>
    public static bool MeansTokenRejected(string? error) =>
        error is not null
        && (error.Equals(InvalidToken, StringComparison.OrdinalIgnoreCase)
            || error.Equals(ExpiredToken, StringComparison.OrdinalIgnoreCase)
            || error.Equals(UnknownToken, StringComparison.OrdinalIgnoreCase));
}
