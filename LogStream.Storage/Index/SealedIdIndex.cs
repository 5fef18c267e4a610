using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace LogStream.Storage;

/// <summary>A page of a sealed id index failed its CRC: the index cannot answer; the blocks still can.</summary>
internal sealed class CorruptIndexException(string message) : IOException(message);

/// <summary>
/// A sealed segment's id index, sorted by (id hash, content hash): on disk in a version 2 segment, or in memory for a
/// version 1 segment until maintenance rewrites it.
/// </summary>
internal abstract class SealedIdIndex
{
    public abstract long Records { get; }

    /// <summary>Memory this index holds for itself (not counting what the shared cache holds for it).</summary>
    public abstract long MemoryBytes { get; }

    /// <summary>Adds the entries whose id hash is <paramref name="idHash"/>.</summary>
    /// <exception cref="CorruptIndexException">The page that would hold it is damaged.</exception>
    public abstract void Find(ulong idHash, List<IdIndexEntry> into);

    /// <summary>Every entry in index order, or those in the Merkle leaves <paramref name="leafFilter"/> accepts.</summary>
    /// <exception cref="CorruptIndexException">A page read is damaged.</exception>
    public abstract IEnumerable<IdIndexEntry> Scan(Func<int, bool>? leafFilter);

    /// <summary>Forgets what the shared cache holds for it (the segment was retired).</summary>
    public virtual void Evict()
    {
    }
}

/// <summary>
/// Version 2: <see cref="IdIndexEntry"/> records in pages of <see cref="SealedFormat.EntriesPerPage"/>, each page's first
/// id hash and CRC in a fence table. The fences (12 bytes per 256 records) load into the
/// <see cref="SealedIndexCache"/> on first use; pages are read from the file (the page cache) each time.
/// </summary>
internal sealed class DiskIdIndex(SafeFileHandle handle, SealedFormat.FooterV2 footer, SealedIndexCache cache) : SealedIdIndex
{
    private readonly int _pages = (int)((footer.Records + footer.EntriesPerPage - 1) / footer.EntriesPerPage);

    public override long Records => footer.Records;

    public override long MemoryBytes => 0;

    private sealed class Fences(ulong[] firstHashes, uint[] crcs)
    {
        public ulong[] FirstHashes { get; } = firstHashes;
        public uint[] Crcs { get; } = crcs;
    }

    private Fences Load() => cache.GetOrLoad(this, () =>
    {
        var bytes = new byte[footer.FencesLength];
        DurableFiles.ReadExactly(handle, bytes, footer.FencesOffset);
        if (Crc32C.Compute(bytes) != footer.FencesCrc)
            throw new CorruptIndexException("Sealed id index fences fail their CRC.");
        var first = new ulong[_pages];
        var crcs = new uint[_pages];
        for (var p = 0; p < _pages; p++)
        {
            first[p] = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(p * SealedFormat.FenceBytes));
            crcs[p] = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(p * SealedFormat.FenceBytes + 8));
        }
        return new Fences(first, crcs);
    }, fences => fences.FirstHashes.Length * 12L + 64);

    public override void Evict() => cache.Remove(this);

    public override void Find(ulong idHash, List<IdIndexEntry> into)
    {
        if (_pages == 0)
            return;
        var fences = Load();
        var first = fences.FirstHashes;
        // The last page starting at or below the hash; a run of equal hashes may begin on the page before.
        var page = UpperBound(first, idHash) - 1;
        if (page < 0)
            return;
        while (page > 0 && first[page] == idHash)
            page--;
        var buffer = ArrayPool<byte>.Shared.Rent(footer.EntriesPerPage * IdIndexEntry.Bytes);
        try
        {
            for (; page < _pages && first[page] <= idHash; page++)
            {
                var entries = ReadPage(page, fences, buffer);
                var past = false;
                for (var i = 0; i < entries; i++)
                {
                    var entry = IdIndexEntry.ReadFrom(buffer.AsSpan(i * IdIndexEntry.Bytes));
                    if (entry.IdHash == idHash)
                        into.Add(entry);
                    else if (entry.IdHash > idHash)
                    {
                        past = true;
                        break;
                    }
                }
                if (past)
                    break;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public override IEnumerable<IdIndexEntry> Scan(Func<int, bool>? leafFilter)
    {
        if (_pages == 0)
            yield break;
        var fences = Load();
        var buffer = ArrayPool<byte>.Shared.Rent(footer.EntriesPerPage * IdIndexEntry.Bytes);
        try
        {
            for (var page = 0; page < _pages; page++)
            {
                if (leafFilter is not null && !AnyLeaf(fences, page, leafFilter))
                    continue;
                var entries = ReadPage(page, fences, buffer);
                for (var i = 0; i < entries; i++)
                {
                    var entry = IdIndexEntry.ReadFrom(buffer.AsSpan(i * IdIndexEntry.Bytes));
                    if (leafFilter is null || leafFilter(MerkleLeaves.LeafOf(entry.IdHash)))
                        yield return entry;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Whether any leaf the page can hold (from its first hash to the next page's) passes the filter.</summary>
    private bool AnyLeaf(Fences fences, int page, Func<int, bool> leafFilter)
    {
        var low = MerkleLeaves.LeafOf(fences.FirstHashes[page]);
        var high = page + 1 < _pages ? MerkleLeaves.LeafOf(fences.FirstHashes[page + 1]) : MerkleLeaves.LeafCount - 1;
        for (var leaf = low; leaf <= high; leaf++)
        {
            if (leafFilter(leaf))
                return true;
        }
        return false;
    }

    private int ReadPage(int page, Fences fences, byte[] buffer)
    {
        var entries = (int)Math.Min(footer.EntriesPerPage, footer.Records - (long)page * footer.EntriesPerPage);
        var span = buffer.AsSpan(0, entries * IdIndexEntry.Bytes);
        DurableFiles.ReadExactly(handle, span, footer.IdIndexOffset + (long)page * footer.EntriesPerPage * IdIndexEntry.Bytes);
        if (Crc32C.Compute(span) != fences.Crcs[page])
            throw new CorruptIndexException($"Sealed id index page {page} fails its CRC.");
        return entries;
    }

    private static int UpperBound(ulong[] values, ulong value)
    {
        int lo = 0, hi = values.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (values[mid] <= value)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }
}

/// <summary>A version 1 segment's index, built in memory from its id table at start-up (20 bytes a record) until it is rewritten.</summary>
internal sealed class MemoryIdIndex(IdIndexEntry[] sorted) : SealedIdIndex
{
    public override long Records => sorted.Length;

    public override long MemoryBytes => sorted.Length * (long)IdIndexEntry.Bytes;

    public override void Find(ulong idHash, List<IdIndexEntry> into)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid].IdHash < idHash)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (var i = lo; i < sorted.Length && sorted[i].IdHash == idHash; i++)
            into.Add(sorted[i]);
    }

    public override IEnumerable<IdIndexEntry> Scan(Func<int, bool>? leafFilter)
    {
        foreach (var entry in sorted)
        {
            if (leafFilter is null || leafFilter(MerkleLeaves.LeafOf(entry.IdHash)))
                yield return entry;
        }
    }
}
