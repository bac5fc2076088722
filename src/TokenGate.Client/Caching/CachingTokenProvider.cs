using Microsoft.Extensions.Logging;

namespace TokenGate.Client.Caching;

/// <summary>
/// Keeps one account's token and renews it a margin before it expires. Expiry is reckoned on the server's clock: the token's
/// remaining lifetime is its <c>expire</c> minus the response's <c>Date</c>, and the local deadline is the local time the answer
/// came plus that lifetime, so a local clock hours off still renews at the right moment.
/// <para>
/// Single flight: callers that find no good token share one request to the API, started without any caller's cancellation
/// token (a caller that gives up stops waiting; the others still get the token). Its outcome is cached only when it is a token.
/// </para>
/// </summary>
internal sealed class CachingTokenProvider : ITokenProvider
{
    /// <summary>The <c>Date</c> header counts whole seconds; a token the server would not renew early is reused this long past expiry.</summary>
    internal static readonly TimeSpan DateResolution = TimeSpan.FromSeconds(1);

    /// <summary>However the clocks fall, a fetched token is kept at least this long, so a confused server cannot draw a request loop.</summary>
    internal static readonly TimeSpan MinimumReuse = TimeSpan.FromSeconds(1);

    private readonly ITokenApiClient _api;
    private readonly string _username;
    private readonly string _password;
    private readonly string[] _addresses;
    private readonly TimeSpan _margin;
    private readonly TimeSpan _jitter;
    private readonly ITokenStore? _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _host;
    private readonly Lock _gate = new();

    private Entry? _current;
    private Task<Entry>? _flight;
    private bool _storeConsulted;

    public CachingTokenProvider(ITokenApiClient api, TokenClientOptions options, ITokenStore? store, TimeProvider time, ILogger logger)
    {
        _api = api;
        _username = options.Username!;
        _password = options.Password!;
        _addresses = [.. options.Addresses.Select(a => a.Trim()).Where(a => a.Length > 0)];
        _margin = options.RenewalMargin;
        _jitter = options.RenewalJitter;
        _store = store;
        _time = time;
        _logger = logger;
        _host = api.Endpoint.Authority;
        CacheKey = TokenCacheKey.Create(api.Endpoint, _username, _addresses);
    }

    public string CacheKey { get; }

    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken = default)
    {
        var current = Volatile.Read(ref _current);
        if (current is not null && _time.GetUtcNow().UtcTicks < current.RenewAtUtcTicks)
        {
            return new ValueTask<AccessToken>(current.Token);
        }

        return AcquireAsync(force: false, rejected: null, cancellationToken);
    }

    public ValueTask<AccessToken> RenewTokenAsync(AccessToken? rejected = null, CancellationToken cancellationToken = default) =>
        AcquireAsync(force: true, rejected, cancellationToken);

    private async ValueTask<AccessToken> AcquireAsync(bool force, AccessToken? rejected, CancellationToken cancellationToken)
    {
        TaskCompletionSource<Entry>? started = null;
        var useStore = false;
        Task<Entry> flight;
        lock (_gate)
        {
            var current = _current;
            if (current is not null && _time.GetUtcNow().UtcTicks < current.RenewAtUtcTicks)
            {
                if (!force)
                {
                    return current.Token;
                }

                if (rejected is not null && !string.Equals(current.Token.Value, rejected.Value, StringComparison.Ordinal))
                {
                    // Someone already replaced the rejected token: use theirs.
                    return current.Token;
                }
            }

            if (force && current is not null)
            {
                Volatile.Write(ref _current, null);
                Log.TokenDropped(_logger, _username, _host);
            }

            if (_flight is null)
            {
                started = new TaskCompletionSource<Entry>(TaskCreationOptions.RunContinuationsAsynchronously);
                _flight = started.Task;
                useStore = _store is not null && !_storeConsulted;
                _storeConsulted = true;
            }

            flight = _flight;
        }

        if (started is not null)
        {
            _ = RunFlightAsync(started, useStore);
        }

        var entry = await flight.WaitAsync(cancellationToken);
        return entry.Token;
    }

    private async Task RunFlightAsync(TaskCompletionSource<Entry> flight, bool useStore)
    {
        try
        {
            var entry = (useStore ? await LoadAsync() : null) ?? await FetchAsync();
            lock (_gate)
            {
                Volatile.Write(ref _current, entry);
                _flight = null;
            }

            flight.SetResult(entry);
        }
        catch (Exception exception)
        {
            lock (_gate)
            {
                _flight = null;
            }

            if (exception is TokenClientException)
            {
                Log.FetchFailed(_logger, _username, _host, exception.Message);
            }
            else
            {
                Log.FetchFailedUnexpectedly(_logger, _username, _host, exception);
            }

            flight.SetException(exception);

            // Every waiter may have given up; the outcome is still observed, so it never surfaces as unobserved.
            _ = flight.Task.Exception;
        }
    }

    private async Task<Entry?> LoadAsync()
    {
        StoredToken? stored;
        try
        {
            stored = await _store!.GetAsync(CacheKey, CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            Log.StoreReadFailed(_logger, _username, _host, exception.GetType().Name, exception.Message);
            return null;
        }

        if (stored is null)
        {
            return null;
        }

        var now = _time.GetUtcNow();
        var renewAt = stored.LocalExpiresAt - _margin - Jitter();
        if (renewAt <= now)
        {
            Log.StoredTokenTooOld(_logger, _username, _host);
            return null;
        }

        Log.StoredTokenReused(_logger, _username, _host, stored.ExpiresAt, renewAt - now);
        return new Entry(new AccessToken(stored.Value, stored.ExpiresAt), renewAt.UtcTicks);
    }

    private async Task<Entry> FetchAsync()
    {
        var token = await _api.GetTokenAsync(_username, _password, _addresses, CancellationToken.None);
        var receivedAt = _time.GetUtcNow();

        // The lifetime on the server's clock; without a Date header the local clock is all there is.
        var remaining = token.ExpiresAt - (token.ServerDate ?? receivedAt);
        var localExpiresAt = receivedAt + remaining;
        var renewAt = localExpiresAt - _margin - Jitter();
        if (renewAt <= receivedAt)
        {
            // Already inside the margin: the server handed back its current token (ContactNow and TokenGate return the same
            // token until it expires). Asking again before it expires would only bring the same one back, so keep it until then.
            renewAt = localExpiresAt + DateResolution;
            Log.RenewalOnlyAfterExpiry(_logger, _username, _host, remaining);
        }

        if (renewAt < receivedAt + MinimumReuse)
        {
            renewAt = receivedAt + MinimumReuse;
        }

        Log.TokenFetched(_logger, _username, _host, token.ExpiresAt, remaining, token.ServerDate is not null, renewAt - receivedAt);
        if (_store is not null)
        {
            try
            {
                await _store.SetAsync(CacheKey, new StoredToken(token.Value, token.ExpiresAt, localExpiresAt), CancellationToken.None);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                Log.StoreWriteFailed(_logger, _username, _host, exception.GetType().Name, exception.Message);
            }
        }

        return new Entry(token, renewAt.UtcTicks);
    }

    private TimeSpan Jitter() => _jitter <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * _jitter.Ticks));

    private sealed record Entry(AccessToken Token, long RenewAtUtcTicks);
}
