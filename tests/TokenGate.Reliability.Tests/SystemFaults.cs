using System.Globalization;
using TokenGate.Testing;

namespace TokenGate.Reliability.Tests;

/// <summary>
/// Real faults under a running server, made the way an operator or a failing machine makes them — never inside the server:
/// a small tmpfs that fills up, files made immutable (<c>chattr +i</c>). They need root (mount(2), CAP_LINUX_IMMUTABLE): where
/// the tests do not run as root they are skipped, except under <c>CI=true</c>, where they fail (as ExternalTool does for a
/// missing program), because CI must run them.
/// </summary>
public static class SystemFaults
{
    public static void RequireRoot(string what)
    {
        if (Environment.UserName == "root")
        {
            return;
        }

        var message = $"{what} needs root (it mounts a tmpfs or sets the immutable attribute); these tests run as {Environment.UserName}";
        if (ExternalTool.InCi)
        {
            Assert.Fail(message + ". CI runs as root.");
        }

        Assert.Skip(message + ".");
    }

    /// <summary>Runs a system program and returns its output; fails the test if it does not succeed.</summary>
    public static async Task<string> RunAsync(string program, params string[] args)
    {
        var (exitCode, output, error) = await ExternalTool.RunAsync(program, args);
        Assert.True(exitCode == 0, $"{program} {string.Join(' ', args)} failed ({exitCode}): {output}{error}");
        return output;
    }

    /// <summary>Sets or clears the immutable attribute: no process, root included, can write to the file until it is cleared.</summary>
    public static Task SetImmutableAsync(bool immutable, params string[] files) =>
        RunAsync(ExternalTool.Require("e2fsprogs", "chattr", "/usr/bin/chattr"), [immutable ? "+i" : "-i", .. files]);
}

/// <summary>A tmpfs of a fixed size mounted on a new temporary directory: a disk that can be filled up and emptied again.</summary>
public sealed class TmpfsMount : IAsyncDisposable
{
    private readonly TempDirectory _directory;
    private readonly string _filler;

    private TmpfsMount(TempDirectory directory)
    {
        _directory = directory;
        _filler = System.IO.Path.Combine(directory.Path, "filler");
    }

    public string Path => _directory.Path;

    public static async Task<TmpfsMount> CreateAsync(long bytes)
    {
        var directory = new TempDirectory("tokengate-tmpfs");
        try
        {
            await SystemFaults.RunAsync(
                ExternalTool.Require("mount", "mount", "/usr/bin/mount"),
                "-t", "tmpfs", "-o", string.Create(CultureInfo.InvariantCulture, $"size={bytes},mode=0700"), "tmpfs", directory.Path);
        }
        catch
        {
            directory.Dispose();
            throw;
        }

        return new TmpfsMount(directory);
    }

    /// <summary>Fills the disk: writes a file until the kernel says there is no space left. Returns the bytes written.</summary>
    public long Fill()
    {
        var chunk = new byte[64 * 1024];
        long written = 0;
        using var stream = new FileStream(_filler, FileMode.Append, FileAccess.Write, FileShare.None, bufferSize: 1);
        try
        {
            while (true)
            {
                stream.Write(chunk);
                written += chunk.Length;
            }
        }
        catch (IOException)
        {
            // ENOSPC: the disk is full. Fill what is left of it in smaller writes.
        }

        try
        {
            while (true)
            {
                stream.Write(chunk, 0, 512);
                written += 512;
            }
        }
        catch (IOException)
        {
        }

        return written;
    }

    public void Empty() => File.Delete(_filler);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await SystemFaults.RunAsync("umount", Path);
        }
        finally
        {
            _directory.Dispose();
        }
    }
}
