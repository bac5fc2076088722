namespace TokenGate.Client;

/// <summary>The token API's address for the known services. Any other <c>token.php</c> URL works too.</summary>
public static class TokenEndpoints
{
    /// <summary>ContactNow, EU region: <c>https://api-106.dxi.eu/token.php</c>.</summary>
    public static Uri ContactNowEu { get; } = new("https://api-106.dxi.eu/token.php", UriKind.Absolute);

    /// <summary>ContactNow (8x8), US region: <c>https://api.contactnow.8x8.com/api/token.php</c>.</summary>
    public static Uri ContactNowUs { get; } = new("https://api.contactnow.8x8.com/api/token.php", UriKind.Absolute);

    /// <summary>A TokenGate server's token API: <c>token.php</c> under <paramref name="serverBaseAddress"/>.</summary>
    /// <param name="serverBaseAddress">Where the server listens, e.g. <c>http://127.0.0.1:5080/</c>.</param>
    public static Uri TokenGate(Uri serverBaseAddress)
    {
        ArgumentNullException.ThrowIfNull(serverBaseAddress);
        if (!serverBaseAddress.IsAbsoluteUri)
        {
            throw new ArgumentException("The server's address must be absolute.", nameof(serverBaseAddress));
        }

        var text = serverBaseAddress.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        return new Uri(text.TrimEnd('/') + "/token.php", UriKind.Absolute);
    }

    /// <summary>A TokenGate server's token API: <c>token.php</c> under <paramref name="serverBaseAddress"/>.</summary>
    /// <param name="serverBaseAddress">Where the server listens, e.g. <c>http://127.0.0.1:5080/</c>.</param>
    public static Uri TokenGate(string serverBaseAddress) => TokenGate(new Uri(serverBaseAddress, UriKind.Absolute));
}
