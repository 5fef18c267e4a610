using Microsoft.Win32.SafeHandles;

namespace LogStream.Storage;

/// <summary>
/// An open file shared by its owner and its readers: the owner's reference is dropped with <see cref="Retire"/> (a
/// rewrite replaced the file, a delivered hint segment is deleted), and the handle closes when the last reader lets go.
/// Storage segments and hint segments both build on it; <see cref="GroupCommitter"/> syncs it while it is alive.
/// </summary>
public abstract class RefCountedFile(string path, SafeFileHandle handle) : IGroupCommitFile
{
    private int _references = 1;

    public string Path { get; } = path;

    public SafeFileHandle Handle { get; } = handle;

    /// <summary>Takes a reference; false once the last one was released (the handle may be closed).</summary>
    public bool TryAcquire()
    {
        while (true)
        {
            var current = Volatile.Read(ref _references);
            if (current == 0)
                return false;
            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current)
                return true;
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
            OnLastRelease();
    }

    /// <summary>Drops the owner's reference: the handle closes when the last reader is done.</summary>
    public void Retire() => Release();

    /// <summary>fdatasync of the written data.</summary>
    public void Flush() => FileSync.FlushData(Handle);

    /// <summary>The last reference is gone: close the handle (and let go of whatever else the file holds).</summary>
    protected virtual void OnLastRelease() => Handle.Dispose();
}
