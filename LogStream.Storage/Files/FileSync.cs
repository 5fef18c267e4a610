using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LogStream.Storage;

/// <summary>fdatasync of files and fsync of directories (a new or renamed file's name is durable only then).</summary>
public static partial class FileSync
{
    /// <summary>Makes a file's written data (and its size) durable.</summary>
    public static void FlushData(SafeFileHandle handle, FileStream? fallback = null)
    {
        if (!OperatingSystem.IsLinux())
        {
            if (fallback is not null)
                fallback.Flush(flushToDisk: true);
            else
                using (var stream = new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0))
                    stream.Flush(flushToDisk: true);
            return;
        }

        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (fdatasync((int)handle.DangerousGetHandle()) != 0)
                throw new IOException($"fdatasync failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>fsync of a directory, so entries created, renamed or removed in it survive a power loss. No-op off Unix.</summary>
    public static void FlushDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
            return;
        var fd = open(path, 0 /* O_RDONLY */);
        if (fd < 0)
            throw new IOException($"Cannot open directory '{path}' to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (fsync(fd) != 0)
                throw new IOException($"fsync of directory '{path}' failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = close(fd);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int fdatasync(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int fsync(int fd);

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
}
