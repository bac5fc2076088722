using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using TokenGate.Tokens;

namespace TokenGate.AspNetCore.Validation;

/// <summary>
/// Remote mode: asks the TokenGate server's introspection endpoint (RFC 7662) as a resource-server account, checks the caller's
/// address against the token's <c>addresses</c> and the expiry against this host's clock itself, and reuses answers for a bounded
/// time: an active answer for at most <see cref="TokenGateOptions.IntrospectionCacheDuration"/> and never past the token's
/// expiry, an inactive one for <see cref="TokenGateOptions.NegativeCacheDuration"/>. Concurrent requests with the same unknown
/// token share one call, which no single caller's cancellation ends. Failures are never cached.
/// </summary>
internal sealed class RemoteTokenVerifier : ITokenVerifier
{
    private const int MaxAnswerBytes = 64 * 1024;
    private static readonly MediaTypeWithQualityHeaderValue Json = new("application/json");

    private readonly Func<HttpClient> _httpClient;
    private readonly Uri _endpoint;
    private readonly AuthenticationHeaderValue _credentials;
    private readonly string _clientId;
    private readonly TimeSpan _timeout;
    private readonly long _positiveMilliseconds;
    private readonly long _negativeMilliseconds;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IntrospectionCache? _cache;
    private readonly ConcurrentDictionary<TokenKey, Task<Introspection>> _inFlight = new();

    public RemoteTokenVerifier(TokenGateOptions options, Func<HttpClient> httpClient, TimeProvider time, ILogger logger)
    {
        _httpClient = httpClient;
        _endpoint = options.ResolvedIntrospectionEndpoint!;
        _clientId = options.ClientId!;
        _credentials = new AuthenticationHeaderValue(
            "Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(options.ClientId!)}:{Uri.EscapeDataString(options.ClientSecret!)}")));
        _timeout = options.BackchannelTimeout;
        _positiveMilliseconds = (long)options.IntrospectionCacheDuration.TotalMilliseconds;
        _negativeMilliseconds = (long)options.NegativeCacheDuration.TotalMilliseconds;
        _time = time;
        _logger = logger;
        _cache = _positiveMilliseconds > 0 || _negativeMilliseconds > 0 ? new IntrospectionCache(options.MaxCachedIntrospections) : null;
    }

    internal int CachedCount => _cache?.Count ?? 0;

    public async ValueTask<TokenVerdict> VerifyAsync(string token, IPAddress client, CancellationToken cancellationToken)
    {
        // A malformed token is inactive by definition: no need to ask.
        if (!TokenValue.IsWellFormed(token))
        {
            return TokenVerdict.Invalid;
        }

        var key = KeyOf(token);
        if (_cache is not null && _cache.TryGet(key, out var entry))
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();

            // A remembered token past its expiry is refused without asking: it cannot come back.
            if (entry.FreshUntil > now || (entry.Answer.Active && now >= entry.Answer.ExpiresAt * 1000))
            {
                return Judge(entry.Answer, key, client);
            }
        }

        var answer = await IntrospectOnceAsync(token, key).WaitAsync(cancellationToken);
        return Judge(answer, key, client);
    }

    private static TokenKey KeyOf(string token)
    {
        Span<byte> digest = stackalloc byte[TokenValue.DigestLength];
        TokenValue.ComputeDigest(token, digest);
        return TokenKey.From(digest);
    }

    /// <summary>The server's rule, applied here: a caller not bound to the token is refused first, then an expired token.</summary>
    private TokenVerdict Judge(Introspection answer, in TokenKey key, IPAddress client)
    {
        if (!answer.Active || !answer.Addresses!.Contains(client))
        {
            return TokenVerdict.Invalid;
        }

        return _time.GetUtcNow().ToUnixTimeSeconds() < answer.ExpiresAt
            ? new TokenVerdict(VerdictStatus.Valid, answer.Username, key.Id, answer.IssuedAt, answer.ExpiresAt, answer.Addresses.Addresses)
            : TokenVerdict.Expired;
    }

    /// <summary>Single flight: the call in progress for this token, or a new one.</summary>
    private Task<Introspection> IntrospectOnceAsync(string token, TokenKey key)
    {
        if (_inFlight.TryGetValue(key, out var running))
        {
            return running;
        }

        var source = new TaskCompletionSource<Introspection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var shared = _inFlight.GetOrAdd(key, source.Task);
        if (shared == source.Task)
        {
            _ = CompleteAsync(token, key, source);
        }

        return shared;
    }

    private async Task CompleteAsync(string token, TokenKey key, TaskCompletionSource<Introspection> source)
    {
        try
        {
            var answer = await IntrospectAsync(token);
            Remember(key, answer);
            source.SetResult(answer);
        }
        catch (Exception exception)
        {
            source.SetException(exception);
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<TokenKey, Task<Introspection>>(key, source.Task));
        }
    }

    private void Remember(in TokenKey key, Introspection answer)
    {
        if (_cache is null)
        {
            return;
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (answer.Active && _positiveMilliseconds > 0)
        {
            _cache.Set(key, new IntrospectionCache.Entry(answer, Math.Min(now + _positiveMilliseconds, answer.ExpiresAt * 1000)), now);
        }
        else if (!answer.Active && _negativeMilliseconds > 0)
        {
            _cache.Set(key, new IntrospectionCache.Entry(answer, now + _negativeMilliseconds), now);
        }
    }

    private async Task<Introspection> IntrospectAsync(string token)
    {
        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = new FormUrlEncodedContent([new("token", token), new("token_type_hint", "access_token")]),
        };
        request.Headers.Authorization = _credentials;
        request.Headers.Accept.Add(Json);

        try
        {
            using var response = await _httpClient().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                Log.IntrospectionRefused(_logger, _endpoint.GetLeftPart(UriPartial.Path), _clientId);
                throw Unavailable("The introspection endpoint refused this resource server's credentials (HTTP 401).");
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw Unavailable($"The introspection endpoint answered HTTP {(int)response.StatusCode}.");
            }

            await response.Content.LoadIntoBufferAsync(MaxAnswerBytes, timeout.Token);
            return Parse(await response.Content.ReadAsByteArrayAsync(timeout.Token));
        }
        catch (HttpRequestException exception)
        {
            throw Unavailable($"The introspection endpoint cannot be reached: {exception.Message}", exception);
        }
        catch (OperationCanceledException exception) when (timeout.IsCancellationRequested)
        {
            throw Unavailable($"The introspection endpoint did not answer within {_timeout.TotalSeconds:0.###} s.", exception);
        }
        catch (JsonException exception)
        {
            throw Unavailable("The introspection answer is not JSON.", exception);
        }
    }

    /// <summary>RFC 7662 §2.2, plus TokenGate's <c>addresses</c> member, which an active answer must carry.</summary>
    private static Introspection Parse(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("active", out var active) || active.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw Unavailable("The introspection answer has no boolean 'active' member.");
        }

        if (!active.GetBoolean())
        {
            return Introspection.Inactive;
        }

        if (root.TryGetProperty("token_type", out var type) && (type.ValueKind != JsonValueKind.String || !string.Equals(type.GetString(), "Bearer", StringComparison.OrdinalIgnoreCase)))
        {
            return Introspection.Inactive;
        }

        if (!root.TryGetProperty("username", out var username) || username.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(username.GetString())
            || !root.TryGetProperty("exp", out var exp) || exp.ValueKind != JsonValueKind.Number || !exp.TryGetInt64(out var expiresAt)
            || !root.TryGetProperty("addresses", out var addresses) || addresses.ValueKind != JsonValueKind.Array)
        {
            throw Unavailable("An active introspection answer lacks 'username', 'exp' or TokenGate's 'addresses' member.");
        }

        var list = new List<string>(addresses.GetArrayLength());
        foreach (var address in addresses.EnumerateArray())
        {
            list.Add(address.ValueKind == JsonValueKind.String ? address.GetString()! : string.Empty);
        }

        if (!AddressSet.TryParse(string.Join(',', list), out var set))
        {
            throw Unavailable("The introspection answer's 'addresses' member is not a list of IP addresses.");
        }

        var issuedAt = root.TryGetProperty("iat", out var iat) && iat.ValueKind == JsonValueKind.Number && iat.TryGetInt64(out var value) ? value : 0;
        return new Introspection(true, username.GetString(), issuedAt, expiresAt, set);
    }

    private static TokenGateAuthenticationException Unavailable(string message, Exception? inner = null) =>
        new(TokenGateFailureReason.ServiceUnavailable, message, inner);
}
