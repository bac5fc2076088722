namespace TokenGate.Client;

/// <summary>
/// A token issued by the token API's <c>get</c> action. Its <see cref="ToString"/> never shows the token's value, so an
/// <see cref="AccessToken"/> can be logged or shown in a debugger without leaking it.
/// </summary>
public sealed class AccessToken
{
    /// <summary>Creates a token as the API issued it.</summary>
    /// <param name="value">The token (40 lower-case hexadecimal characters from ContactNow and TokenGate).</param>
    /// <param name="expiresAt">When the token stops being valid, on the server's clock (the body's <c>expire</c>).</param>
    /// <param name="serverDate">The server's clock when it answered (the response's <c>Date</c> header), if known.</param>
    public AccessToken(string value, DateTimeOffset expiresAt, DateTimeOffset? serverDate = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        Value = value;
        ExpiresAt = expiresAt;
        ServerDate = serverDate;
        BearerHeaderValue = "Bearer " + value;
        EscapedValue = Uri.EscapeDataString(value);
    }

    /// <summary>The token itself. Keep it out of logs: it authorizes API calls until <see cref="ExpiresAt"/>.</summary>
    public string Value { get; }

    /// <summary>When the token stops being valid, on the server's clock (the body's <c>expire</c>, Unix seconds).</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The server's clock when it issued the answer (the response's <c>Date</c> header), or null if it sent none.</summary>
    public DateTimeOffset? ServerDate { get; }

    /// <summary>
    /// How long the token was still valid when the server answered, reckoned on the server's own clock
    /// (<see cref="ExpiresAt"/> minus <see cref="ServerDate"/>), so a skewed local clock does not distort it. Null without a
    /// <c>Date</c> header.
    /// </summary>
    public TimeSpan? RemainingAtIssue => ServerDate is { } date ? ExpiresAt - date : null;

    /// <summary><c>Bearer {token}</c>, made once so attaching the token to a request allocates nothing.</summary>
    internal string BearerHeaderValue { get; }

    /// <summary>The token escaped for a query string, made once for the same reason.</summary>
    internal string EscapedValue { get; }

    /// <summary>Describes the token without its value.</summary>
    public override string ToString() => $"AccessToken {{ ExpiresAt = {ExpiresAt:O}, Value = [redacted] }}";
}
