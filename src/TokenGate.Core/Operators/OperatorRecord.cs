using System.Security.Cryptography;

namespace TokenGate.Operators;

/// <summary>
/// A console operator as stored: a person who signs in to the operator console, not an API account (operators never get tokens,
/// and an API account's credentials never open the console). <see cref="CredentialStamp"/> changes whenever the password
/// changes; a console session carries it and ends when it no longer matches (or the operator is gone). Times are Unix seconds.
/// </summary>
public sealed record OperatorRecord(long Id, string Name, string PasswordHash, long CreatedAt, string CredentialStamp)
{
    /// <summary>Never prints the hash.</summary>
    public override string ToString() => $"OperatorRecord {{ Id = {Id}, Name = {Name}, CreatedAt = {CreatedAt} }}";

    /// <summary>A fresh credential stamp (128 random bits, hex): what a store writes on create and on every password change.</summary>
    public static string NewCredentialStamp() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}

/// <summary>An operator as <c>operator list</c> shows it.</summary>
public sealed record OperatorSummary(string Name, long CreatedAt);
