namespace TokenGate.Contract;

/// <summary>The six argument names of the token API (matched ignoring case).</summary>
public static class ContractArgumentNames
{
    public const string Action = "action";
    public const string Username = "username";
    public const string Password = "password";
    public const string Address = "address";
    public const string Token = "token";
    public const string Format = "format";
}
