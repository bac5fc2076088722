namespace TokenGate.Cli;

/// <summary>What <c>tokengate</c> exits with. Documented in the README.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The command was understood but refused: unknown account, duplicate name, invalid name, weak password; or bad usage.</summary>
    public const int Failed = 1;

    /// <summary>The configuration is invalid (a bad duration, proxy, key file or schema).</summary>
    public const int BadConfiguration = 2;

    /// <summary>The database could not be opened or written (locked, read-only, full, unreachable).</summary>
    public const int StorageUnavailable = 3;
}
