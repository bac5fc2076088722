namespace TokenGate.Security;

/// <summary>
/// Seals token values so that the store can hand an existing token back to its account without keeping it in plain text.
/// A sealed value is bound to its token's digest: it cannot be moved to another row.
/// </summary>
public interface ITokenSealer
{
    byte[] Seal(string token, ReadOnlySpan<byte> digest);

    /// <summary>Opens a sealed value; false when it was sealed under another key or altered.</summary>
    bool TryUnseal(ReadOnlySpan<byte> sealedToken, ReadOnlySpan<byte> digest, out string? token);
}
