namespace TokenGate.Server;

/// <summary>
/// Every log line of the server. None takes a password or a token value: tokens appear only as their non-secret id (the first
/// 8 bytes of their SHA-256), and usernames only once they are known to be account names.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Issued token {TokenId} to {Account} for {Addresses}, expires {Expire}")]
    public static partial void TokenIssued(ILogger logger, string account, string tokenId, string addresses, long expire);

    [LoggerMessage(10, LogLevel.Debug, "Handed back token {TokenId} to {Account} for {Addresses}, expires {Expire}")]
    public static partial void TokenReturned(ILogger logger, string account, string tokenId, string addresses, long expire);

    [LoggerMessage(2, LogLevel.Information, "Authentication failed for account {Account} from {Client}")]
    public static partial void AuthenticationFailed(ILogger logger, string account, string client);

    [LoggerMessage(3, LogLevel.Information, "Authentication failed for an unknown or malformed username from {Client}")]
    public static partial void AuthenticationFailedUnknown(ILogger logger, string client);

    [LoggerMessage(4, LogLevel.Information, "Deleted token {TokenId} of {Account} from {Client}")]
    public static partial void TokenDeleted(ILogger logger, string tokenId, string account, string client);

    [LoggerMessage(5, LogLevel.Information, "Changed the password of {Account} with token {TokenId} from {Client}; its other tokens were deleted")]
    public static partial void PasswordChanged(ILogger logger, string account, string tokenId, string client);

    [LoggerMessage(6, LogLevel.Warning, "Account {Account} holds the most tokens it may ({Limit}); refused a new one")]
    public static partial void TooManyTokens(ILogger logger, string account, int limit);

    [LoggerMessage(7, LogLevel.Warning, "Storage unavailable while serving {Action}: {Reason}")]
    public static partial void StorageUnavailable(ILogger logger, string action, string reason);

    [LoggerMessage(8, LogLevel.Error, "Unexpected error while serving {Action}")]
    public static partial void UnexpectedError(ILogger logger, string action, Exception exception);

    [LoggerMessage(11, LogLevel.Warning, "Refused {Action} from {Client}: too many failed attempts; retry after {RetryAfter}")]
    public static partial void RateLimited(ILogger logger, string action, string client, TimeSpan retryAfter);

    [LoggerMessage(15, LogLevel.Warning, "The guessing defences now refuse {Action} attempts counted per {Counter} (the last failure came from {Client})")]
    public static partial void ThrottleStarted(ILogger logger, string action, string client, string counter);

    [LoggerMessage(12, LogLevel.Warning, "Could not write {Count} audit entries yet ({Reason}); retrying")]
    public static partial void AuditDelayed(ILogger logger, int count, string reason);

    [LoggerMessage(13, LogLevel.Error, "Lost {Count} audit entries at shutdown: the database is unavailable ({Reason})")]
    public static partial void AuditLost(ILogger logger, int count, string reason);

    [LoggerMessage(22, LogLevel.Information, "Purged {Count} audit entries older than the audit retention")]
    public static partial void AuditPurged(ILogger logger, int count);

    [LoggerMessage(14, LogLevel.Warning, "Refused introspection by {Account} from {Client}: the account is not a resource server (tokengate account introspect NAME)")]
    public static partial void IntrospectionRefused(ILogger logger, string account, string client);

    [LoggerMessage(20, LogLevel.Information, "Purged {Count} tokens expired before the retention window")]
    public static partial void Purged(ILogger logger, int count);

    [LoggerMessage(23, LogLevel.Debug, "Sweeping expired tokens and old audit entries (this instance holds the maintenance lock)")]
    public static partial void SweepStarted(ILogger logger);

    [LoggerMessage(24, LogLevel.Debug, "Sweep finished: purged {Tokens} tokens, {AuditEntries} audit entries and {LoginRows} old login counters or familiar addresses")]
    public static partial void SweepFinished(ILogger logger, int tokens, int auditEntries, int loginRows);

    [LoggerMessage(25, LogLevel.Debug, "Skipped this sweep: another instance holds the maintenance lock")]
    public static partial void SweepSkipped(ILogger logger);

    [LoggerMessage(21, LogLevel.Warning, "The expired-token sweeper failed; it will try again in {Interval}")]
    public static partial void SweepFailed(ILogger logger, TimeSpan interval, Exception exception);

    [LoggerMessage(30, LogLevel.Information, "TokenGate is using {Database} and the key file {KeyFile} (key {KeyFingerprint})")]
    public static partial void Started(ILogger logger, string database, string keyFile, string keyFingerprint);

    [LoggerMessage(31, LogLevel.Warning, "Passwords are hashed with {Iterations} PBKDF2 iterations, fewer than the default {Default}: use this only for tests")]
    public static partial void WeakHashing(ILogger logger, int iterations, int @default);

    [LoggerMessage(32, LogLevel.Information, "Trusting X-Forwarded-For from {Proxies}")]
    public static partial void TrustingProxies(ILogger logger, string proxies);

    [LoggerMessage(40, LogLevel.Information, "Serving Prometheus metrics on {Addresses}")]
    public static partial void ServingMetrics(ILogger logger, string addresses);

    [LoggerMessage(50, LogLevel.Information, "Key ring from {Source}: {Keys}")]
    public static partial void Holding(ILogger logger, string source, string keys);

    [LoggerMessage(51, LogLevel.Information, "Reloaded the key ring from {Source} on SIGHUP: {Keys}")]
    public static partial void Reloaded(ILogger logger, string source, string keys);

    [LoggerMessage(52, LogLevel.Error, "Refused the key ring in {Source} on SIGHUP, keeping {Keys}: {Problem}")]
    public static partial void ReloadRefused(ILogger logger, string source, string keys, string problem);

    [LoggerMessage(53, LogLevel.Warning, "SIGHUP: the key ring comes from {Source}, which cannot change while the server runs; nothing reloaded")]
    public static partial void NothingToReload(ILogger logger, string source);

    [LoggerMessage(60, LogLevel.Warning, "Refused {Action} for account {Account} from {Client}: outside the account's allowed networks")]
    public static partial void OutsideAllowedNetworks(ILogger logger, string action, string account, string client);

    [LoggerMessage(61, LogLevel.Information, "Refused a token for account {Account} bound to {Addresses}: outside the account's allowed networks")]
    public static partial void AddressNotAllowed(ILogger logger, string account, string addresses);

    [LoggerMessage(62, LogLevel.Warning, "Found {Clashes}")]
    public static partial void AccountNameClashes(ILogger logger, string clashes);
}
