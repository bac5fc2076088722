namespace TokenGate.Contract;

/// <summary>The error texts of the token API. Clients match on them: they never change.</summary>
public static class ContractErrors
{
    public const string AuthenticationFailure = "Authentication failure";
    public const string InvalidToken = "Invalid token";
    public const string ExpiredToken = "Expired token";
    public const string TooManyTokens = "Too many tokens";
    public const string TooManyRequests = "Too many requests";
    public const string ServiceUnavailable = "Service unavailable";
    public const string RequestTooLarge = "Request too large";
    public const string MethodNotAllowed = "Method not allowed";
    public const string NotFound = "Not found";
    public const string BadRequest = "Bad request";
    public const string InternalError = "Internal error";

    public static string BadArgument(string name) => name switch
    {
        ContractArgumentNames.Action => "Bad argument: action",
        ContractArgumentNames.Format => "Bad argument: format",
        ContractArgumentNames.Address => "Bad argument: address",
        ContractArgumentNames.Password => "Bad argument: password",
        ContractArgumentNames.Username => "Bad argument: username",
        ContractArgumentNames.Token => "Bad argument: token",
        _ => "Bad argument: " + name,
    };
}
