using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using ZstdSharp;

namespace LogStream.Storage;

/// <summary>The 64-bit hash of a record id's UTF-8 bytes (<see cref="RecordIdHash.Of(ReadOnlySpan{byte})"/> but in tests).</summary>
internal delegate ulong IdHasher(ReadOnlySpan<byte> utf8Id);

/// <summary>What segments share with their store: its metrics, the cache of sealed indexes, the id hash.</summary>
internal sealed class SegmentContext(StorageMetrics metrics, SealedIndexCache cache, IdHasher idHash)
{
    public static SegmentContext ForTests(StorageMetrics metrics) => new(metrics, new SealedIndexCache(1 << 20), RecordIdHash.Of);

    public StorageMetrics Metrics { get; } = metrics;

    public SealedIndexCache Cache { get; } = cache;

    public IdHasher IdHash { get; } = idHash;

    public ulong IdHashOf(string id)
    {
        Span<byte> buffer = stackalloc byte[Encoding.UTF8.GetMaxByteCount(LogRecord.MaxIdBytes)];
        return id.Length <= LogRecord.MaxIdBytes ? IdHash(buffer[..Encoding.UTF8.GetBytes(id, buffer)]) : IdHash(Encoding.UTF8.GetBytes(id));
    }
}

/// <summary>
/// A sealed segment: header, zstd-compressed blocks of entries (varint length, encoded record) sorted by
/// (timestamp, id), then (version 2) the block index, the id index sorted by id hash with its fences, the Merkle leaves
/// and a fixed footer; version 1 had a zstd id table of every record instead (docs/storage-format.md). Immutable once
/// written. Opening it reads the footer, the block index and the leaves: never a block, never the id index.
/// </summary>
internal sealed class SealedSegment : Segment
{
    private static readonly ConcurrentBag<Decompressor> Decompressors = [];

    private readonly BlockInfo[] _blocks;
    private readonly string[] _sources;
    private readonly object _indexGate = new();
    private volatile SealedIdIndex _ids;
    private readonly SegmentContext _context;
    private readonly ConcurrentDictionary<int, byte> _badBlocks = new();

    private SealedSegment(string path, SegmentHeader header, SafeFileHandle handle, long fileBytes, BlockInfo[] blocks, string[] sources,
        SealedIdIndex ids, SegmentContext context)
        : base(path, header, handle)
    {
        _blocks = blocks;
        _sources = sources;
        _ids = ids;
        _context = context;
        FileBytes = fileBytes;
        RecordCount = ids.Records;
        MinTicks = blocks.Length == 0 ? long.MaxValue : blocks.Min(b => b.MinTicks);
        MaxTicks = blocks.Length == 0 ? long.MinValue : blocks.Max(b => b.MaxTicks);
    }

    public override bool IsSealed => true;

    public override long RecordCount { get; }

    public override long FileBytes { get; }

    public override long MinTicks { get; }

    public override long MaxTicks { get; }

    public override long MemoryBytes => (long)_blocks.Length * Unsafe.SizeOf<BlockInfo>() + _ids.MemoryBytes;

    public override IReadOnlyCollection<string> Sources => _sources;

    /// <summary>Written by an older format version: maintenance rewrites it (its index lives in memory until then).</summary>
    public bool NeedsMigration => Header.Version < SegmentFormat.SealedVersion;

    internal ReadOnlySpan<BlockInfo> Blocks => _blocks;

    /// <summary>Opens a sealed file (either version). <paramref name="leaves"/>: the Merkle leaves of its records.</summary>
    /// <exception cref="InvalidDataException">Footer or indexes are damaged: the file cannot be used.</exception>
    public static SealedSegment Open(string path, SegmentHeader header, SafeFileHandle handle, long fileLength, SegmentContext context, out MerkleLeaves leaves) =>
        header.Version == 1
            ? OpenVersion1(path, header, handle, fileLength, context, out leaves)
            : OpenVersion2(path, header, handle, fileLength, context, out leaves);

    private static SealedSegment OpenVersion2(string path, SegmentHeader header, SafeFileHandle handle, long fileLength, SegmentContext context, out MerkleLeaves leaves)
    {
        if (fileLength < header.Length + SealedFormat.FooterV2Bytes)
            throw new InvalidDataException("Sealed segment shorter than its header and footer.");
        Span<byte> footerBytes = stackalloc byte[SealedFormat.FooterV2Bytes];
        DurableFiles.ReadExactly(handle, footerBytes, fileLength - SealedFormat.FooterV2Bytes);
        var footer = SealedFormat.FooterV2.Read(footerBytes, header.Length, fileLength);
        var blockIndex = new byte[footer.BlockIndexLength];
        DurableFiles.ReadExactly(handle, blockIndex, footer.BlockIndexOffset);
        var leafBytes = new byte[footer.LeavesLength];
        DurableFiles.ReadExactly(handle, leafBytes, footer.LeavesOffset);
        if (SealedFormat.FooterV2.Checksum(blockIndex, leafBytes, footerBytes[..60]) != BinaryPrimitives.ReadUInt32LittleEndian(footerBytes[60..]))
            throw new InvalidDataException("Sealed segment index CRC mismatch.");
        var (sources, blocks) = SealedFormat.ParseBlockIndex(blockIndex, footer.BlockIndexOffset);
        if (blocks.Sum(b => (long)b.RecordCount) != footer.Records)
            throw new InvalidDataException("Sealed segment record count disagrees with its index.");
        leaves = MerkleLeaves.ReadFrom(leafBytes);
        if (leaves.Records != footer.Records)
            throw new InvalidDataException("Sealed segment Merkle leaves disagree with its record count.");
        return new SealedSegment(path, header, handle, fileLength, blocks, sources, new DiskIdIndex(handle, footer, context.Cache), context);
    }

    /// <summary>
    /// Version 1: the id table (every id, content hash and size, zstd) is read and its ids hashed, which builds the
    /// leaves and an in-memory id index; the blocks stay unread. Maintenance rewrites the segment as version 2.
    /// </summary>
    private static SealedSegment OpenVersion1(string path, SegmentHeader header, SafeFileHandle handle, long fileLength, SegmentContext context, out MerkleLeaves leaves)
    {
        const int footerBytes = SealedFormat.FooterV1Bytes;
        if (fileLength < header.Length + footerBytes)
            throw new InvalidDataException("Sealed segment shorter than its header and footer.");
        Span<byte> footer = stackalloc byte[footerBytes];
        DurableFiles.ReadExactly(handle, footer, fileLength - footerBytes);
        if (!footer[40..].SequenceEqual(SealedFormat.FooterV1Magic))
            throw new InvalidDataException("Sealed segment footer magic missing.");
        var indexOffset = BinaryPrimitives.ReadInt64LittleEndian(footer);
        var indexLength = BinaryPrimitives.ReadInt32LittleEndian(footer[8..]);
        var idTableOffset = BinaryPrimitives.ReadInt64LittleEndian(footer[12..]);
        var idTableLength = BinaryPrimitives.ReadInt32LittleEndian(footer[20..]);
        var idTableRawLength = BinaryPrimitives.ReadInt32LittleEndian(footer[24..]);
        var records = BinaryPrimitives.ReadInt64LittleEndian(footer[28..]);
        if (indexOffset < header.Length || indexLength < 8 || idTableOffset != indexOffset + indexLength || idTableLength < 0
            || idTableOffset + idTableLength != fileLength - footerBytes || idTableRawLength < 0 || records < 0)
            throw new InvalidDataException("Sealed segment footer fields out of range.");

        var tail = new byte[indexLength + idTableLength];
        DurableFiles.ReadExactly(handle, tail, indexOffset);
        var crc = Crc32C.Append(Crc32C.Start, tail);
        crc = Crc32C.Append(crc, footer[..36]);
        if (Crc32C.Finish(crc) != BinaryPrimitives.ReadUInt32LittleEndian(footer[36..]))
            throw new InvalidDataException("Sealed segment index CRC mismatch.");

        var (sources, blocks) = SealedFormat.ParseBlockIndex(tail.AsSpan(0, indexLength), indexOffset);
        if (blocks.Sum(b => (long)b.RecordCount) != records)
            throw new InvalidDataException("Sealed segment record count disagrees with its index.");

        var idTable = new byte[idTableRawLength];
        if (idTableRawLength > 0)
        {
            var decompressor = RentDecompressor();
            try
            {
                if (decompressor.Unwrap(tail.AsSpan(indexLength, idTableLength), idTable) != idTableRawLength)
                    throw new InvalidDataException("Sealed segment id table has the wrong size.");
            }
            finally
            {
                Decompressors.Add(decompressor);
            }
        }

        leaves = new MerkleLeaves();
        var entries = new IdIndexEntry[records];
        var position = 0;
        var at = 0;
        for (var b = 0; b < blocks.Length; b++)
        {
            for (var r = 0; r < blocks[b].RecordCount; r++)
            {
                if (!Varint.TryRead(idTable.AsSpan(position), out var idLength, out var size) || position + size + idLength + 8 > idTable.Length)
                    throw new InvalidDataException("Sealed segment id table truncated.");
                position += size;
                var idHash = context.IdHash(idTable.AsSpan(position, (int)idLength));
                position += (int)idLength;
                var contentHash = BinaryPrimitives.ReadUInt64LittleEndian(idTable.AsSpan(position));
                position += 8;
                if (!Varint.TryRead(idTable.AsSpan(position), out _, out size))
                    throw new InvalidDataException("Sealed segment id table truncated.");
                position += size;
                entries[at++] = new IdIndexEntry(idHash, contentHash, b);
                leaves.Add(idHash, contentHash);
            }
        }
        Array.Sort(entries);
        return new SealedSegment(path, header, handle, fileLength, blocks, sources, new MemoryIdIndex(entries), context);
    }

    public override IEnumerable<Entry> Descending(RecordFilter filter, CorruptionSink corruption)
    {
        var sourceIndex = SourceIndex(filter);
        if (sourceIndex == -2)
            yield break;
        var offsets = new List<int>(256);
        for (var b = _blocks.Length - 1; b >= 0; b--)
        {
            if (_blocks[b].MaxTicks < filter.FromTicks)
                yield break;
            if (!MayMatch(b, filter, sourceIndex))
                continue;
            var data = ReadBlock(b, corruption);
            if (data is null)
                continue;
            try
            {
                ParseEntries(data, _blocks[b].RawLength, offsets);
                for (var i = offsets.Count - 1; i >= 0; i--)
                {
                    var (start, length) = Unpack(offsets[i], data);
                    var payload = data.AsMemory(start, length);
                    if (filter.Matches(payload.Span))
                        yield return new Entry(payload, EncodedRecord.ReadTicks(payload.Span), ReadIdString(payload.Span));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(data);
            }
        }
    }

    public override IEnumerable<Entry> Ascending(CorruptionSink corruption) => StorageOrder(null, corruption);

    public override IEnumerable<Entry> StorageOrder(IReadOnlySet<ulong>? idHashes, CorruptionSink corruption)
    {
        foreach (var (_, payload) in BlockRecords(idHashes is null ? null : BlocksHolding(idHashes, corruption), corruption))
        {
            var id = ReadId(payload.Span);
            if (idHashes is null || idHashes.Contains(_context.IdHash(id)))
                yield return new Entry(payload, EncodedRecord.ReadTicks(payload.Span), Encoding.UTF8.GetString(id));
        }
    }

    /// <summary>Every record of the readable blocks (of those <paramref name="wanted"/> names), in block order; a payload is valid until the next.</summary>
    private IEnumerable<(int Block, ReadOnlyMemory<byte> Payload)> BlockRecords(bool[]? wanted, CorruptionSink corruption)
    {
        var offsets = new List<int>(256);
        for (var b = 0; b < _blocks.Length; b++)
        {
            if (_badBlocks.ContainsKey(b) || (wanted is not null && !wanted[b]))
                continue;
            var data = ReadBlock(b, corruption);
            if (data is null)
                continue;
            try
            {
                ParseEntries(data, _blocks[b].RawLength, offsets);
                foreach (var packed in offsets)
                {
                    var (start, length) = Unpack(packed, data);
                    yield return (b, data.AsMemory(start, length));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(data);
            }
        }
    }

    /// <summary>Which blocks hold records with these id hashes.</summary>
    private bool[] BlocksHolding(IReadOnlySet<ulong> idHashes, CorruptionSink corruption) => WithIndex(ids =>
    {
        var blocks = new bool[_blocks.Length];
        // Many hashes: one pass over the whole index beats a page read per hash.
        if (idHashes.Count * (long)SealedFormat.EntriesPerPage > RecordCount / 4)
        {
            foreach (var entry in ids.Scan(null))
            {
                if (idHashes.Contains(entry.IdHash))
                    blocks[entry.Block] = true;
            }
        }
        else
        {
            var found = new List<IdIndexEntry>();
            foreach (var idHash in idHashes)
                ids.Find(idHash, found);
            foreach (var entry in found)
                blocks[entry.Block] = true;
        }
        return blocks;
    }, corruption);

    /// <summary>
    /// Runs a query on the id index. A damaged page or fence table is reported once (the bucket is then rewritten at
    /// the next maintenance) and, until then, the segment answers from an index built once from its blocks: a lookup
    /// never falls back to reading every block again.
    /// </summary>
    private T WithIndex<T>(Func<SealedIdIndex, T> query, CorruptionSink corruption)
    {
        try
        {
            return query(_ids);
        }
        catch (CorruptIndexException ex)
        {
            return query(IndexFromBlocks(ex, corruption));
        }
    }

    private SealedIdIndex IndexFromBlocks(CorruptIndexException failure, CorruptionSink corruption)
    {
        lock (_indexGate)
        {
            if (_ids is MemoryIdIndex rebuilt)
                return rebuilt;
            corruption(this, 0, 0, [], null, failure.Message + " (answering from the blocks until the bucket is rewritten)");
            var entries = new List<IdIndexEntry>((int)Math.Min(RecordCount, int.MaxValue));
            foreach (var (block, payload) in BlockRecords(null, corruption))
                entries.Add(new IdIndexEntry(_context.IdHash(ReadId(payload.Span)), LogRecordCodec.ComputeContentHash(payload.Span), block));
            var sorted = entries.ToArray();
            Array.Sort(sorted);
            var index = new MemoryIdIndex(sorted);
            _ids = index;
            return index;
        }
    }

    /// <summary>
    /// Whether a record with this id is here: the id index gives the blocks of its hash, the block confirms the id.
    /// <paramref name="scratch"/> keeps the last block read, for a batch whose records sit close together.
    /// </summary>
    public bool Contains(ulong idHash, ReadOnlySpan<byte> id, CorruptionSink corruption, BlockScratch scratch)
    {
        var found = scratch.Found;
        found.Clear();
        WithIndex(ids =>
        {
            found.Clear();
            ids.Find(idHash, found);
            return found.Count;
        }, corruption);
        var previous = -1;
        foreach (var entry in found)
        {
            if (entry.Block == previous || _badBlocks.ContainsKey(entry.Block))
                continue;
            previous = entry.Block;
            if (BlockHolds(entry.Block, id, corruption, scratch))
                return true;
        }
        return false;
    }

    /// <summary>Whether the id index lists this id hash (no block read; a damaged index answers yes).</summary>
    public bool MayHold(ulong idHash, CorruptionSink corruption)
    {
        var found = new List<IdIndexEntry>();
        return WithIndex(ids =>
        {
            found.Clear();
            ids.Find(idHash, found);
            return found.Count > 0;
        }, corruption);
    }

    private bool BlockHolds(int block, ReadOnlySpan<byte> id, CorruptionSink corruption, BlockScratch scratch)
    {
        if (!scratch.Holds(this, block))
        {
            var data = ReadBlock(block, corruption);
            if (data is null)
                return false;
            scratch.Keep(this, block, data, _blocks[block].RawLength);
        }
        var offsets = scratch.Offsets;
        foreach (var packed in offsets)
        {
            var (start, length) = Unpack(packed, scratch.Data!);
            if (ReadId(scratch.Data.AsSpan(start, length)).SequenceEqual(id))
                return true;
        }
        return false;
    }

    public override IEnumerable<RecordDigest> Digests(Func<int, bool>? leafFilter, CorruptionSink corruption) =>
        WithIndex(ids => ids.Scan(leafFilter).Select(entry => entry.ToDigest()).ToList(), corruption);

    public override long Count(RecordFilter filter, CorruptionSink corruption)
    {
        var sourceIndex = SourceIndex(filter);
        if (sourceIndex == -2)
            return 0;
        long count = 0;
        var offsets = new List<int>(256);
        for (var b = 0; b < _blocks.Length; b++)
        {
            if (!MayMatch(b, filter, sourceIndex))
                continue;
            ref readonly var block = ref _blocks[b];
            var wholeBlockInRange = block.MinTicks >= filter.FromTicks && block.MaxTicks < filter.ToTicks;
            var sourceExact = filter.Source is null || (block.SourceIndexes.Length == 1 && block.SourceIndexes[0] == sourceIndex);
            if (wholeBlockInRange && sourceExact && filter.Contains is null)
            {
                for (var level = 0; level < 6; level++)
                {
                    if (filter.MatchesLevel((LogSeverity)level))
                        count += block.Levels[level];
                }
                continue;
            }
            var data = ReadBlock(b, corruption);
            if (data is null)
                continue;
            try
            {
                ParseEntries(data, block.RawLength, offsets);
                foreach (var packed in offsets)
                {
                    var (start, length) = Unpack(packed, data);
                    if (filter.Matches(data.AsSpan(start, length)))
                        count++;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(data);
            }
        }
        return count;
    }

    /// <summary>The id hashes of a damaged block's records, from the id index (for the corruption report).</summary>
    private List<ulong> LostIn(int block)
    {
        try
        {
            return _ids.Scan(null).Where(entry => entry.Block == block).Select(entry => entry.IdHash).ToList();
        }
        catch (CorruptIndexException)
        {
            // The Merkle comparison finds what the report cannot name.
            return [];
        }
    }

    /// <summary>-1: no source filter; -2: the source is absent from this segment; else its index.</summary>
    private int SourceIndex(RecordFilter filter) =>
        filter.Source is null ? -1 : Array.IndexOf(_sources, filter.Source) is var i and >= 0 ? i : -2;

    private bool MayMatch(int index, RecordFilter filter, int sourceIndex)
    {
        ref readonly var block = ref _blocks[index];
        return !_badBlocks.ContainsKey(index)
            && block.MaxTicks >= filter.FromTicks && block.MinTicks < filter.ToTicks
            && block.HasLevelIn(filter.LevelMask)
            && (sourceIndex < 0 || Array.IndexOf(block.SourceIndexes, (ushort)sourceIndex) >= 0);
    }

    public int BlockCount => _blocks.Length;

    /// <summary>
    /// Reads one block's compressed bytes and checks their CRC (background verification: start-up no longer reads
    /// blocks, so bit rot in data nobody queries is found this way). Returns the bytes read; damage is reported.
    /// </summary>
    public int VerifyBlock(int index, CorruptionSink corruption)
    {
        ref readonly var block = ref _blocks[index];
        if (_badBlocks.ContainsKey(index))
            return 0;
        var compressed = ArrayPool<byte>.Shared.Rent(Math.Max(block.CompressedLength, 1));
        try
        {
            DurableFiles.ReadExactly(Handle, compressed.AsSpan(0, block.CompressedLength), block.Offset);
            if (Crc32C.Compute(compressed.AsSpan(0, block.CompressedLength)) != block.Crc && _badBlocks.TryAdd(index, 0))
                corruption(this, block.Offset, block.CompressedLength, LostIn(index), null, "block CRC mismatch found by background verification");
            return block.CompressedLength;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    /// <summary>Reads, checks and decompresses one block into a pooled buffer (caller returns it); null when corrupt.</summary>
    internal byte[]? ReadBlock(int index, CorruptionSink corruption)
    {
        ref readonly var block = ref _blocks[index];
        var compressed = ArrayPool<byte>.Shared.Rent(Math.Max(block.CompressedLength, 1));
        try
        {
            DurableFiles.ReadExactly(Handle, compressed.AsSpan(0, block.CompressedLength), block.Offset);
            _context.Metrics.BlockRead(block.CompressedLength);
            if (Crc32C.Compute(compressed.AsSpan(0, block.CompressedLength)) != block.Crc)
            {
                if (_badBlocks.TryAdd(index, 0))
                    corruption(this, block.Offset, block.CompressedLength, LostIn(index), null, "block CRC mismatch on read");
                return null;
            }
            var data = ArrayPool<byte>.Shared.Rent(Math.Max(block.RawLength, 1));
            var decompressor = RentDecompressor();
            try
            {
                if (decompressor.Unwrap(compressed.AsSpan(0, block.CompressedLength), data.AsSpan(0, block.RawLength)) != block.RawLength)
                    throw new InvalidDataException("Block decompressed to the wrong size.");
                return data;
            }
            catch (Exception ex) when (ex is InvalidDataException or ZstdException)
            {
                ArrayPool<byte>.Shared.Return(data);
                if (_badBlocks.TryAdd(index, 0))
                    corruption(this, block.Offset, block.CompressedLength, LostIn(index), null, "block does not decompress: " + ex.Message);
                return null;
            }
            finally
            {
                Decompressors.Add(decompressor);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    // Entry positions packed as (start << 24 | length) would overflow for big blocks; keep start only and re-read the varint.
    internal static void ParseEntries(byte[] data, int length, List<int> offsets)
    {
        offsets.Clear();
        var position = 0;
        while (position < length)
        {
            offsets.Add(position);
            if (!Varint.TryRead(data.AsSpan(position, length - position), out var size, out var prefix))
                throw new InvalidDataException("Corrupt entry length inside a block whose CRC matched.");
            position += prefix + (int)size;
        }
    }

    internal static (int Start, int Length) Unpack(int position, byte[] data)
    {
        Varint.TryRead(data.AsSpan(position), out var size, out var prefix);
        return (position + prefix, (int)size);
    }

    private static string ReadIdString(ReadOnlySpan<byte> payload) => Encoding.UTF8.GetString(ReadId(payload));

    private static ReadOnlySpan<byte> ReadId(ReadOnlySpan<byte> payload)
    {
        EncodedRecord.TryReadId(payload, out var id);
        return id;
    }

    private static Decompressor RentDecompressor() => Decompressors.TryTake(out var d) ? d : new Decompressor();

    protected override void OnLastRelease()
    {
        _ids.Evict();
        base.OnLastRelease();
    }

    /// <summary>Opens a freshly written version 2 file (the writer knows its indexes).</summary>
    internal static SealedSegment OpenWritten(string path, SegmentHeader header, SafeFileHandle handle, long fileLength, BlockInfo[] blocks,
        string[] sources, SealedFormat.FooterV2 footer, SegmentContext context) =>
        new(path, header, handle, fileLength, blocks, sources, new DiskIdIndex(handle, footer, context.Cache), context);
}

/// <summary>The last block a run of lookups decompressed, so records of one batch that sit together are read once.</summary>
internal sealed class BlockScratch : IDisposable
{
    private SealedSegment? _segment;
    private int _block = -1;

    public List<IdIndexEntry> Found { get; } = [];

    public List<int> Offsets { get; } = new(256);

    public byte[]? Data { get; private set; }

    public bool Holds(SealedSegment segment, int block) => ReferenceEquals(segment, _segment) && block == _block && Data is not null;

    public void Keep(SealedSegment segment, int block, byte[] data, int rawLength)
    {
        Release();
        _segment = segment;
        _block = block;
        Data = data;
        SealedSegment.ParseEntries(data, rawLength, Offsets);
    }

    private void Release()
    {
        if (Data is not null)
            ArrayPool<byte>.Shared.Return(Data);
        Data = null;
        _segment = null;
        _block = -1;
    }

    public void Dispose() => Release();
}
