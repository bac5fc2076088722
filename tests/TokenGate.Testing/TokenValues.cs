using System.Security.Cryptography;
using TokenGate.Tokens;

namespace TokenGate.Testing;

/// <summary>Token values for tests: untagged ones (as issued before tags) and forgeries of real ones.</summary>
public static class TokenValues
{
    /// <summary>A well-formed token of 160 random bits, as every token was before tags: its tag verifies with odds 2^-32.</summary>
    public static string Untagged() => RandomNumberGenerator.GetHexString(TokenValue.Length, lowercase: true);

    /// <summary><paramref name="token"/> with one bit of its last byte (the tag) flipped: right length, wrong tag.</summary>
    public static string WithFlippedTagBit(string token, int bit = 0)
    {
        var bytes = Convert.FromHexString(token);
        bytes[^1] ^= (byte)(1 << bit);
        return Convert.ToHexStringLower(bytes);
    }
}
