using System.Runtime.CompilerServices;

namespace LogStream.Storage;

/// <summary>
/// An append-only list of unmanaged entries kept in fixed pages of <see cref="PageSize"/> (at most ~64 KiB each, below
/// the large object heap): growing it allocates one page and never copies entries, so an index of millions of records
/// is never one huge array that a writer waits for. Entries hold no references, so the GC never walks them.
/// One writer at a time (the bucket's gate); readers index below a <see cref="Count"/> they read first and see
/// complete entries, because the count is published after them.
/// </summary>
internal sealed class PagedList<T> where T : unmanaged
{
    public const int PageShift = 11;
    public const int PageSize = 1 << PageShift;
    private const int PageMask = PageSize - 1;

    private T[][] _pages = new T[4][];
    private int _pageCount;
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes held: the pages and their directory.</summary>
    public long Bytes => (long)Volatile.Read(ref _pageCount) * PageSize * Unsafe.SizeOf<T>() + Volatile.Read(ref _pages).Length * IntPtr.Size;

    public ref T this[int index] => ref Volatile.Read(ref _pages)[index >> PageShift][index & PageMask];

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
        var page = index >> PageShift;
        var pages = _pages;
        if (page >= pages.Length)
        {
            // Copy on write: a reader holding the old directory still finds every page it can index.
            var grown = new T[pages.Length * 2][];
            Array.Copy(pages, grown, pages.Length);
            Volatile.Write(ref _pages, grown);
            pages = grown;
        }
        if (pages[page] is null)
        {
            pages[page] = new T[PageSize];
            Volatile.Write(ref _pageCount, _pageCount + 1);
        }
        return ref pages[page][index & PageMask];
    }
}
