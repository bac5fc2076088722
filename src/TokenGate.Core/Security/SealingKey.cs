using System.Security.Cryptography;

namespace TokenGate.Security;

/// <summary>
/// The 256-bit key that seals token values. It never lives in the database: it comes from a key file (created with mode 0600
/// on first start) or from configuration as base64.
/// </summary>
public sealed class SealingKey
{
    public const int Length = 32;

    private SealingKey(byte[] bytes)
    {
        Bytes = bytes;
        Id = SHA256.HashData(bytes)[..4];
    }

    internal byte[] Bytes { get; }

    /// <summary>A short fingerprint of the key (not secret): sealed values name the key they were sealed with.</summary>
    internal byte[] Id { get; }

    public string Fingerprint => Convert.ToHexStringLower(Id);

    public static SealingKey Generate() => new(RandomNumberGenerator.GetBytes(Length));

    public static SealingKey FromBase64(string base64)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            throw new SealingKeyException("The sealing key is not valid base64.");
        }

        return bytes.Length == Length ? new SealingKey(bytes) : throw new SealingKeyException($"The sealing key must be {Length} bytes.");
    }

    /// <summary>
    /// Reads the key file, creating it (mode 0600, in a directory created 0700 if missing) when it does not exist. A key file
    /// that others can read is refused, as ssh refuses such a private key.
    /// The file may hold a key ring (<see cref="SealingKeyRing"/>): this is its active key.
    /// </summary>
    public static SealingKey LoadOrCreate(string path) => SealingKeyRing.LoadOrCreate(path).Active.Key!;

    /// <summary>
    /// Reads an existing key file, never creating one (an API that checks the server's tokens reads the server's key): a missing
    /// file, or one that others can read, is refused.
    /// The file may hold a key ring (<see cref="SealingKeyRing"/>): this is its active key.
    /// </summary>
    public static SealingKey Load(string path) => SealingKeyRing.Load(path).Active.Key!;

    /// <summary>The text of the key file (a key or a key ring), with the checks of <see cref="LoadOrCreate"/> and <see cref="Load"/>.</summary>
    internal static string ReadKeyFile(string path, bool create)
    {
        var fullPath = Path.GetFullPath(path);
        try
        {
            return LoadFile(fullPath, create);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // A service whose key folder is read-only to it (deploy/tokengate.service) needs the key made before its first start.
            throw new SealingKeyException($"Cannot read {(create ? "or create " : string.Empty)}the key file {fullPath}: {exception.Message.TrimEnd('.')}; give --key-file a file path {(create ? $"in a folder this user may write, or make the key beforehand with: tokengate key init --key-file {fullPath}" : "this user may read")}.");
        }
    }

    private static string LoadFile(string fullPath, bool create)
    {
        if (!File.Exists(fullPath))
        {
            if (!create)
            {
                throw new SealingKeyException($"The key file {fullPath} does not exist.");
            }

            TryCreate(fullPath);
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(fullPath);
            if ((mode & PrivateFiles.Shared) != 0)
            {
                throw new SealingKeyException($"The key file {fullPath} can be read or written by other users; make it private with: chmod 600 {fullPath}");
            }
        }

        return ReadKeyText(fullPath);
    }

    // A process that lost the race to create the file can open it before the winner has written the key: give it a moment.
    private static string ReadKeyText(string fullPath)
    {
        for (var attempt = 1; ; attempt++)
        {
            var text = File.ReadAllText(fullPath);
            if (text.Length > 0 || attempt == 50)
            {
                return text;
            }

            Thread.Sleep(10);
        }
    }

    private static void TryCreate(string fullPath)
    {
        var directory = Path.GetDirectoryName(fullPath)!;
        PrivateFiles.CreateDirectory(directory);

        // CreateNew lets one process win the race to create the file; FileShare.Read lets the others open it meanwhile
        // (ReadKeyText waits for the key to be written), where FileShare.None would make them fail.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFiles.OwnerOnlyFile;
        }

        var key = RandomNumberGenerator.GetBytes(Length);
        try
        {
            using var stream = new FileStream(fullPath, options);
            using var writer = new StreamWriter(stream);
            writer.Write(Convert.ToBase64String(key));
            writer.Flush();
            stream.Flush(flushToDisk: true);
            if (!OperatingSystem.IsWindows())
            {
                // The umask may have taken the owner's write bit: 0600 exactly, as for the database.
                File.SetUnixFileMode(fullPath, PrivateFiles.OwnerOnlyFile);
            }
        }
        catch (IOException) when (File.Exists(fullPath))
        {
            // Another process created it first; read theirs.
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }
}

public sealed class SealingKeyException(string message) : Exception(message);
