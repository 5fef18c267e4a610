using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LogStream.Storage;

/// <summary>
/// An append-only list of unmanaged entries in fixed pages of <see cref="PageSize"/> entries, in native memory: growing
/// it allocates one page and never copies entries, so an index of millions of records is never one huge array that a
/// writer waits for, and the garbage collector neither copies nor scans it (a node's indexes stay out of its heap, so
/// collections cost what the request path allocates, not what the node stores).
/// One writer at a time (the bucket's gate); readers index below a <see cref="Count"/> they read first and see complete
/// entries, because the count is published after them. The owner frees the pages with <see cref="Dispose"/> once no
/// reader can be using them (a segment: when its last reference is released).
/// </summary>
internal sealed unsafe class PagedList<T> : IDisposable where T : unmanaged
{
    public const int PageShift = 11;
    public const int PageSize = 1 << PageShift;
    private const int PageMask = PageSize - 1;

    private nint[] _pages = new nint[4];
    private int _pageCount;
    private int _count;
    private bool _disposed;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes held: the pages and their directory.</summary>
    public long Bytes => (long)Volatile.Read(ref _pageCount) * PageSize * sizeof(T) + Volatile.Read(ref _pages).Length * IntPtr.Size;

    public ref T this[int index] => ref Unsafe.AsRef<T>((T*)Volatile.Read(ref _pages)[index >> PageShift] + (index & PageMask));

    /// <summary>Adds one entry and publishes it.</summary>
    public void Add(in T item)
    {
        var count = _count;
        Slot(count) = item;
        Volatile.Write(ref _count, count + 1);
    }

    /// <summary>Writes the entry at the end without publishing it (<see cref="Publish"/> makes a run of them visible at once).</summary>
    public void Stage(int offset, in T item) => Slot(_count + offset) = item;

    /// <summary>Makes <paramref name="staged"/> entries written with <see cref="Stage"/> visible to readers.</summary>
    public void Publish(int staged) => Volatile.Write(ref _count, _count + staged);

    private ref T Slot(int index)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var page = index >> PageShift;
        var pages = _pages;
        if (page >= pages.Length)
        {
            // Copy on write: a reader holding the old directory still finds every page it can index.
            var grown = new nint[pages.Length * 2];
            Array.Copy(pages, grown, pages.Length);
            Volatile.Write(ref _pages, grown);
            pages = grown;
        }
        if (pages[page] == 0)
        {
            pages[page] = (nint)NativeMemory.Alloc((nuint)PageSize, (nuint)sizeof(T));
            Volatile.Write(ref _pageCount, _pageCount + 1);
        }
        return ref Unsafe.AsRef<T>((T*)pages[page] + (index & PageMask));
    }

    /// <summary>Frees the pages. Only when no reader can still index the list.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        var pages = _pages;
        for (var i = 0; i < pages.Length; i++)
        {
            if (pages[i] != 0)
                NativeMemory.Free((void*)pages[i]);
            pages[i] = 0;
        }
        Volatile.Write(ref _count, 0);
        Volatile.Write(ref _pageCount, 0);
    }
}
