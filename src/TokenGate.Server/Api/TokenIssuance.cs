using TokenGate.Accounts;

namespace TokenGate.Server.Api;

/// <summary>
/// Issuing a token to an authenticated account, with what every issue records (the metric, the audit entry, the log line),
/// for <c>token.php</c>'s <c>get</c> and the OAuth2 client credentials grant alike.
/// </summary>
public sealed class TokenIssuance(TokenService tokens, LoginGate gate, TokenGateMetrics metrics, AuditTrail audit, ILogger<TokenIssuance> logger)
{
    public int MaxActiveTokensPerAccount => tokens.Options.MaxActiveTokensPerAccount;

    public async ValueTask<IssueResult> IssueAsync(AccountRecord account, AddressSet addresses, LoginAttempt attempt, CancellationToken cancellationToken)
    {
        var client = attempt.Caller.ToString();
        // A token added, or refused for too many, has its audit entry committed by the store in the same transaction.
        var result = await tokens.IssueAsync(account, addresses, new IssueAudit(account.Name, client, AuditActions.Get), cancellationToken);
        switch (result.Status)
        {
            case IssueStatus.Issued when result.IsNew:
                metrics.TokenIssued();
                Log.TokenIssued(logger, account.Name, result.TokenId!, addresses.Key, result.ExpiresAt);
                break;
            case IssueStatus.Issued:
                // The hot path of get: a remembered result, its id made once.
                audit.RecordRepeated(account.Name, client, AuditActions.Get, AuditActions.Returned, result.TokenId);
                Log.TokenReturned(logger, account.Name, result.TokenId!, addresses.Key, result.ExpiresAt);
                break;
            case IssueStatus.TooManyTokens:
                Log.TooManyTokens(logger, account.Name, tokens.MaxActiveTokensOf(account));
                break;
            case IssueStatus.AddressNotAllowed:
                // The caller is inside the account's networks and its password was right: a mistake, not a guess.
                Log.AddressNotAllowed(logger, account.Name, addresses.Key);
                audit.Record(account.Name, client, AuditActions.Get, AuditActions.AddressNotAllowed);
                break;
            default:
                // The password changed (or the account was disabled) between the check and the issue.
                gate.RecordFailure(attempt, account.Name);
                break;
        }

        return result;
    }
}
