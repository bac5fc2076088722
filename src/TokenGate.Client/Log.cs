using Microsoft.Extensions.Logging;

namespace TokenGate.Client;

/// <summary>
/// Every log line of the client. None carries a password or a token: accounts appear by username, servers by host, cache
/// files by their (digest) name.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Token for {Username} at {Host} fetched: it expires at {ExpiresAt} (server clock), {Remaining} from now by the server's clock (Date header used: {ServerClock}); renewal due in {RenewIn}")]
    public static partial void TokenFetched(ILogger logger, string username, string host, DateTimeOffset expiresAt, TimeSpan remaining, bool serverClock, TimeSpan renewIn);

    [LoggerMessage(2, LogLevel.Debug, "Token for {Username} at {Host} came back with only {Remaining} left, inside the renewal margin: the server renews only after expiry, so it is kept until then")]
    public static partial void RenewalOnlyAfterExpiry(ILogger logger, string username, string host, TimeSpan remaining);

    [LoggerMessage(3, LogLevel.Warning, "Getting a token for {Username} at {Host} failed: {Reason}")]
    public static partial void FetchFailed(ILogger logger, string username, string host, string reason);

    [LoggerMessage(4, LogLevel.Error, "Getting a token for {Username} at {Host} failed unexpectedly")]
    public static partial void FetchFailedUnexpectedly(ILogger logger, string username, string host, Exception exception);

    [LoggerMessage(5, LogLevel.Information, "Token for {Username} at {Host} was refused by an API; the next request gets a new one")]
    public static partial void TokenDropped(ILogger logger, string username, string host);

    [LoggerMessage(6, LogLevel.Information, "Stored token for {Username} at {Host} reused: it expires at {ExpiresAt} (server clock); renewal due in {RenewIn}")]
    public static partial void StoredTokenReused(ILogger logger, string username, string host, DateTimeOffset expiresAt, TimeSpan renewIn);

    [LoggerMessage(7, LogLevel.Debug, "Stored token for {Username} at {Host} is due for renewal; getting a new one")]
    public static partial void StoredTokenTooOld(ILogger logger, string username, string host);

    [LoggerMessage(8, LogLevel.Warning, "Reading the stored token for {Username} at {Host} failed ({ErrorType}: {Reason}); getting one from the API")]
    public static partial void StoreReadFailed(ILogger logger, string username, string host, string errorType, string reason);

    [LoggerMessage(9, LogLevel.Warning, "Storing the token for {Username} at {Host} failed ({ErrorType}: {Reason}); it is kept in memory only")]
    public static partial void StoreWriteFailed(ILogger logger, string username, string host, string errorType, string reason);

    [LoggerMessage(10, LogLevel.Warning, "Token cache file {Path} ignored: {Reason}")]
    public static partial void CacheFileIgnored(ILogger logger, string path, string reason);

    [LoggerMessage(20, LogLevel.Information, "{Method} {Host}: the token was refused ({Reason}); renewing it and sending the request once more")]
    public static partial void TokenRefusedRetrying(ILogger logger, HttpMethod method, string host, string reason);

    [LoggerMessage(21, LogLevel.Warning, "{Method} {Host}: the token was refused ({Reason}), and the request cannot be sent again (its content can be read only once); the refusal is returned as it is")]
    public static partial void TokenRefusedNotReplayable(ILogger logger, HttpMethod method, string host, string reason);

    [LoggerMessage(22, LogLevel.Warning, "{Method} {Host}: the renewed token was refused too ({Reason}); the refusal is returned as it is")]
    public static partial void TokenRefusedAgain(ILogger logger, HttpMethod method, string host, string reason);
}

/// <summary>The logger categories, so that the client's lines can be filtered as one (<c>TokenGate.Client</c>) or apart.</summary>
internal static class LogCategories
{
    public const string Provider = "TokenGate.Client.TokenProvider";
    public const string Handler = "TokenGate.Client.TokenHandler";
    public const string FileStore = "TokenGate.Client.FileTokenStore";
}
