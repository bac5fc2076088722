using System.IO.MemoryMappedFiles;

namespace TokenGate.Storage.Sqlite;

/// <summary>
/// The WAL-index header at the start of a database's <c>-shm</c> file, mapped read-only. SQLite writes two 48-byte copies of it
/// on every commit (https://sqlite.org/walformat.html, "The WAL-Index Header"); readers compare the copies to detect a header being
/// written. Used only as a "has anything changed?" signal: any doubt sends the caller to SQLite itself.
/// </summary>
internal sealed unsafe class WalIndexHeader : IDisposable
{
    public const int Length = 48;

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _pointer;

    private WalIndexHeader(MemoryMappedFile file, MemoryMappedViewAccessor view)
    {
        _file = file;
        _view = view;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _pointer = pointer + view.PointerOffset;
    }

    /// <summary>Maps the header, or returns null when the file is missing or too short (then callers always take the slow path).</summary>
    public static WalIndexHeader? TryOpen(string shmPath)
    {
        try
        {
            if (!File.Exists(shmPath) || new FileInfo(shmPath).Length < 2 * Length)
            {
                return null;
            }

            var file = MemoryMappedFile.CreateFromFile(
                new FileStream(shmPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete),
                mapName: null,
                capacity: 0,
                MemoryMappedFileAccess.Read,
                HandleInheritability.None,
                leaveOpen: false);
            try
            {
                return new WalIndexHeader(file, file.CreateViewAccessor(0, 2 * Length, MemoryMappedFileAccess.Read));
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Copies the header into <paramref name="header"/>; false when its two copies differ (being written) or it is not initialised.</summary>
    public bool TryRead(Span<byte> header)
    {
        var first = new ReadOnlySpan<byte>(_pointer, Length);
        var second = new ReadOnlySpan<byte>(_pointer + Length, Length);
        first.CopyTo(header);
        Interlocked.MemoryBarrier();

        // Byte 12 is isInit: a header not yet initialised says nothing.
        return header[12] != 0 && second.SequenceEqual(header);
    }

    /// <summary>Frames in the WAL (mxFrame, native byte order, offset 16); 0 after the WAL has been started over.</summary>
    public uint Frames => System.Runtime.InteropServices.MemoryMarshal.Read<uint>(new ReadOnlySpan<byte>(_pointer + 16, 4));

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
