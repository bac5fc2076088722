using Microsoft.Extensions.Logging;

namespace TokenGate.Client.Http;

/// <summary>
/// Attaches the current token to every request, as a query parameter (the ContactNow convention) or a bearer header. When the
/// answer says the token is no longer good, it asks the provider for a new one (one renewal shared by every request that saw
/// the same token refused) and sends the request once more — only if its content can be sent again, and never a third time.
/// </summary>
internal sealed class TokenHandler : DelegatingHandler
{
    private readonly ITokenProvider _tokens;
    private readonly TokenPlacement _placement;
    private readonly bool _retry;
    private readonly string _firstParameter;
    private readonly string _nextParameter;
    private readonly string _bareParameter;
    private readonly ILogger _logger;

    public TokenHandler(ITokenProvider tokens, TokenHandlerOptions options, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(options.QueryParameterName);
        _tokens = tokens;
        _placement = options.Placement;
        _retry = options.RetryWhenRejected;
        _bareParameter = Uri.EscapeDataString(options.QueryParameterName) + "=";
        _firstParameter = "?" + _bareParameter;
        _nextParameter = "&" + _bareParameter;
        _logger = logger;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var target = request.RequestUri;
        var token = await _tokens.GetTokenAsync(cancellationToken);
        Attach(request, target, token);
        var response = await base.SendAsync(request, cancellationToken);
        if (!_retry)
        {
            return response;
        }

        var reason = await DetectRejectionAsync(response, cancellationToken);
        if (reason is null)
        {
            return response;
        }

        var host = target?.Authority ?? string.Empty;
        if (!TokenRejection.IsReplayable(request.Content))
        {
            Log.TokenRefusedNotReplayable(_logger, request.Method, host, reason);
            return response;
        }

        Log.TokenRefusedRetrying(_logger, request.Method, host, reason);
        AccessToken renewed;
        try
        {
            // If no new token can be had (the password was changed, say), that is the more useful answer: it is thrown.
            renewed = await _tokens.RenewTokenAsync(token, cancellationToken);
        }
        finally
        {
            response.Dispose();
        }

        Attach(request, target, renewed);
        response = await base.SendAsync(request, cancellationToken);
        if (await DetectRejectionAsync(response, cancellationToken) is { } again)
        {
            Log.TokenRefusedAgain(_logger, request.Method, host, again);
        }

        return response;
    }

    private static async ValueTask<string?> DetectRejectionAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await TokenRejection.DetectAsync(response, cancellationToken);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Puts <paramref name="token"/> on <paramref name="request"/>, replacing what an earlier attempt put there.</summary>
    /// <param name="request">The request.</param>
    /// <param name="target">The request's URI as the caller gave it, before any token was added.</param>
    /// <param name="token">The token.</param>
    internal void Attach(HttpRequestMessage request, Uri? target, AccessToken token)
    {
        if (_placement == TokenPlacement.BearerHeader)
        {
            var headers = request.Headers;
            headers.Remove("Authorization");
            headers.TryAddWithoutValidation("Authorization", token.BearerHeaderValue);
            return;
        }

        if (target is null || !target.IsAbsoluteUri)
        {
            throw new InvalidOperationException("The token goes into the request's URI, so the request needs an absolute one (set HttpClient.BaseAddress or use an absolute URI).");
        }

        // The caller's own string, less any fragment: it round-trips through Uri unchanged, and reading it allocates nothing.
        var text = target.OriginalString.Trim();
        var fragment = text.IndexOf('#', StringComparison.Ordinal);
        if (fragment >= 0)
        {
            text = text[..fragment];
        }

        // A request sent again by an outer handler (a resilience retry) comes back with the token it carried: replace it.
        text = WithoutParameter(text);
        var query = text.IndexOf('?', StringComparison.Ordinal);
        var separator = query < 0 ? _firstParameter
            : text.EndsWith('?') || text.EndsWith('&') ? _bareParameter
            : _nextParameter;
        request.RequestUri = new Uri(string.Concat(text, separator, token.EscapedValue), UriKind.Absolute);
    }

    /// <summary><paramref name="uri"/> without any query parameter of the token's name; the same string when it has none.</summary>
    private string WithoutParameter(string uri)
    {
        var query = uri.IndexOf('?', StringComparison.Ordinal);
        if (query < 0)
        {
            return uri;
        }

        var start = query + 1;
        while (start < uri.Length)
        {
            var end = uri.IndexOf('&', start);
            if (end < 0)
            {
                end = uri.Length;
            }

            if (uri.AsSpan(start, end - start).StartsWith(_bareParameter, StringComparison.Ordinal))
            {
                // Take the parameter with the '&' after it, or, if it is the last one, with the '?' or '&' before it.
                var trimmed = end < uri.Length ? uri.Remove(start, end + 1 - start) : uri.Remove(start - 1, end - start + 1);
                return WithoutParameter(trimmed);
            }

            start = end + 1;
        }

        return uri;
    }
}
