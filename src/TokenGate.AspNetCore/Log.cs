using System.Net;
using Microsoft.Extensions.Logging;

namespace TokenGate.AspNetCore;

/// <summary>Every log line of the handler. Tokens appear by their non-secret id, never by value; secrets never appear.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Token {TokenId} of {Account} accepted from {Client}")]
    public static partial void TokenAccepted(ILogger logger, string tokenId, string account, IPAddress client);

    [LoggerMessage(2, LogLevel.Information, "Token {TokenId} refused from {Client}: {Reason}")]
    public static partial void TokenRefused(ILogger logger, string tokenId, IPAddress? client, TokenGateFailureReason reason);

    [LoggerMessage(3, LogLevel.Information, "Request from {Client} refused: it carries different tokens in more than one place")]
    public static partial void ConflictingTokens(ILogger logger, IPAddress? client);

    [LoggerMessage(4, LogLevel.Warning, "Token {TokenId} from {Client} could not be checked: {Reason}")]
    public static partial void Unavailable(ILogger logger, string tokenId, IPAddress? client, string reason, Exception? exception);

    [LoggerMessage(5, LogLevel.Error, "Checking token {TokenId} failed unexpectedly")]
    public static partial void UnexpectedError(ILogger logger, string tokenId, Exception exception);

    [LoggerMessage(6, LogLevel.Error, "The introspection endpoint {Endpoint} refused the resource-server credentials of {ClientId}: check ClientId and ClientSecret, and that the account may introspect ('tokengate account introspect NAME')")]
    public static partial void IntrospectionRefused(ILogger logger, string endpoint, string clientId);

    [LoggerMessage(7, LogLevel.Debug, "The request body could not be read as a form while looking for a token: {Reason}")]
    public static partial void FormUnreadable(ILogger logger, string reason);
}
