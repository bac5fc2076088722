namespace TokenGate.OperatorConsole;

/// <summary>The console's log lines (category TokenGate.Console). Never a password, a token or a cookie.</summary>
internal static partial class ConsoleLog
{
    [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Operator {Operator} signed in to the console from {Client}.")]
    public static partial void SignedIn(ILogger logger, string @operator, string client);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Information, Message = "Operator {Operator} signed out of the console.")]
    public static partial void SignedOut(ILogger logger, string @operator);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Information, Message = "A console session of {Operator} ended: the operator was removed or their password changed.")]
    public static partial void SessionEnded(ILogger logger, string @operator);

    [LoggerMessage(EventId = 1604, Level = LogLevel.Information, Message = "Operator {Operator} made a change in the console: {Action} {Account}: {Outcome}.")]
    public static partial void Changed(ILogger logger, string @operator, string action, string? account, string outcome);

    [LoggerMessage(EventId = 1605, Level = LogLevel.Information, Message = "Serving the operator console on its own listener at {Addresses}.")]
    public static partial void ServingOwnListener(ILogger logger, string addresses);
}
