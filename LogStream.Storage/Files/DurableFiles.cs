using Microsoft.Win32.SafeHandles;

namespace LogStream.Storage;

/// <summary>
/// Creating directories and files so that they survive a power loss: a new entry is durable only once its parent
/// directory is fsynced. Storage segments, hint segments and cursor files all come into existence through here.
/// </summary>
public static class DurableFiles
{
    /// <summary>Creates <paramref name="path"/> (and missing parents) and fsyncs every parent whose entries changed.</summary>
    /// <returns>False when the directory existed already (nothing was synced).</returns>
    public static bool CreateDirectory(string path)
    {
        path = Path.GetFullPath(path);
        if (Directory.Exists(path))
            return false;
        var parent = Path.GetDirectoryName(path);
        if (parent is not null)
            CreateDirectory(parent);
        Directory.CreateDirectory(path);
        if (parent is not null)
            FileSync.FlushDirectory(parent);
        return true;
    }

    /// <summary>
    /// Creates a new file holding exactly <paramref name="header"/>, durable with its directory entry, and returns it
    /// open for reading and writing (shared for reading and deletion). Fails if the file exists.
    /// </summary>
    public static SafeFileHandle CreateWithHeader(string path, ReadOnlySpan<byte> header)
    {
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        try
        {
            RandomAccess.Write(handle, header, 0);
            FileSync.FlushData(handle);
            FileSync.FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Replaces <paramref name="path"/> with what <paramref name="write"/> writes, atomically and durably: a temp file
    /// beside it, fsynced, renamed over it, the directory fsynced. A crash leaves the old file or the new one, whole.
    /// </summary>
    public static void ReplaceAtomically(string path, Action<Stream> write)
    {
        path = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(path)!;
        CreateDirectory(directory);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            write(stream);
            stream.Flush();
            FileSync.FlushData(stream.SafeFileHandle, stream);
        }
        File.Move(temp, path, overwrite: true);
        FileSync.FlushDirectory(directory);
    }

    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="offset"/>.</summary>
    /// <exception cref="EndOfStreamException">The file ends first.</exception>
    public static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var read = RandomAccess.Read(handle, destination[total..], offset + total);
            if (read == 0)
                throw new EndOfStreamException("The file ended early.");
            total += read;
        }
    }
}
