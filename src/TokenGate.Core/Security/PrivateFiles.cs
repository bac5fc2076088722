namespace TokenGate.Security;

/// <summary>
/// Folders and files that hold secrets (the database, the key) are created for their owner only, whatever the umask: mkdir and
/// open apply the umask to the mode asked for, so the mode is set again once the entry exists. On Windows the folder's ACL
/// applies instead.
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Group and others may read or write.</summary>
    public const UnixFileMode Shared = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    /// <summary>Creates <paramref name="directory"/> and any missing parent; each folder created here is made 0700.</summary>
    public static void CreateDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }

        var missing = new Stack<string>();
        for (var folder = Path.GetFullPath(directory); !string.IsNullOrEmpty(folder) && !Directory.Exists(folder); folder = Path.GetDirectoryName(folder))
        {
            missing.Push(folder);
        }

        while (missing.TryPop(out var folder))
        {
            Directory.CreateDirectory(folder, OwnerOnlyFolder);
            File.SetUnixFileMode(folder, OwnerOnlyFolder);
        }
    }

    /// <summary>Whether group or others may read or write <paramref name="path"/> (false when it does not exist, or on Windows).</summary>
    public static bool IsShared(string path) =>
        !OperatingSystem.IsWindows() && File.Exists(path) && (File.GetUnixFileMode(path) & Shared) != 0;
}
