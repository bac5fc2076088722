namespace TokenGate.Client;

/// <summary>The body format asked of the token API (its <c>format</c> argument). Answers in either format are understood.</summary>
public enum TokenFormat
{
    /// <summary><c>format=json</c>, the API's default (no argument is sent).</summary>
    Json,

    /// <summary><c>format=xml</c>: <c>&lt;result&gt;&lt;success&gt;1&lt;/success&gt;...&lt;/result&gt;</c>.</summary>
    Xml,
}

/// <summary>How the arguments reach the token API. Both are part of the vendor's contract.</summary>
public enum TokenRequestMethod
{
    /// <summary>
    /// <c>POST</c> with an <c>application/x-www-form-urlencoded</c> body: the default, because a password in a query string ends up
    /// in proxies' and servers' access logs.
    /// </summary>
    Post,

    /// <summary><c>GET</c> with the arguments in the query string, as the vendor's examples do.</summary>
    Get,
}
