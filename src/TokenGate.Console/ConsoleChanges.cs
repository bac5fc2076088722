using System.Security.Claims;

namespace TokenGate.OperatorConsole;

/// <summary>Records every change an operator makes in the console in the audit trail, with their name and address.</summary>
public sealed class ConsoleChanges(AuditService audit, TimeProvider time, ILoggerFactory loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("TokenGate.Console");

    public async ValueTask RecordAsync(HttpContext context, string action, string? account, string outcome, string? tokenId = null)
    {
        var name = OperatorName(context.User);
        var client = context.Connection.RemoteIpAddress?.ToString();
        await audit.AppendAsync(new AuditEntry(time.GetUtcNow().ToUnixTimeSeconds(), account, client, action, outcome, tokenId, name), CancellationToken.None);
        ConsoleLog.Changed(_logger, name, action, account, outcome);
    }

    public static string OperatorName(ClaimsPrincipal user) => user.Identity?.Name ?? "(unknown)";
}
