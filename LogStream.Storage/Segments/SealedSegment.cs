using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Win32.SafeHandles;
using ZstdSharp;

namespace LogStream.Storage;

/// <summary>Index entry of one block of a sealed segment: what a query needs to skip it.</summary>
internal sealed class BlockInfo
{
    public const int FixedBytes = 8 + 4 + 4 + 4 + 8 + 8 + 4 + 6 * 4 + 2;

    public long Offset { get; init; }
    public int CompressedLength { get; init; }
    public int RawLength { get; init; }
    public int RecordCount { get; init; }
    public long MinTicks { get; init; }
    public long MaxTicks { get; init; }
    public uint Crc { get; init; }
    public required int[] LevelCounts { get; init; }
    public required ushort[] SourceIndexes { get; init; }

    public bool HasLevelIn(int mask)
    {
        for (var level = 0; level < LevelCounts.Length; level++)
        {
            if (LevelCounts[level] > 0 && (mask & (1 << level)) != 0)
                return true;
        }
        return false;
    }
}

/// <summary>What opening a sealed segment found: every record's digest, and the blocks whose CRC failed.</summary>
internal sealed class SealedOpenResult
{
    public List<RecordDigest> Digests { get; } = [];
    public List<(long Offset, long Length, List<string> Ids)> CorruptBlocks { get; } = [];
    public HashSet<int> BadBlocks { get; } = [];
}

/// <summary>
/// A sealed segment: header, zstd-compressed blocks of entries (varint length, encoded record) sorted by
/// (timestamp, id), then a block index, a zstd-compressed id table and a fixed footer (see docs/storage-format.md).
/// Immutable once written.
/// </summary>
internal sealed class SealedSegment : Segment
{
    public const int FooterBytes = 44;

    private static readonly ConcurrentBag<Decompressor> Decompressors = [];

    private readonly BlockInfo[] _blocks;
    private readonly string[] _sources;
    private readonly HashSet<int> _badBlocks;

    private SealedSegment(string path, SegmentHeader header, SafeFileHandle handle, long fileBytes, BlockInfo[] blocks, string[] sources, long records, HashSet<int> badBlocks)
        : base(path, header, handle)
    {
        _blocks = blocks;
        _sources = sources;
        _badBlocks = badBlocks;
        FileBytes = fileBytes;
        RecordCount = records - badBlocks.Sum(b => (long)blocks[b].RecordCount);
        MinTicks = blocks.Length == 0 ? long.MaxValue : blocks.Min(b => b.MinTicks);
        MaxTicks = blocks.Length == 0 ? long.MinValue : blocks.Max(b => b.MaxTicks);
    }

    public override bool IsSealed => true;

    public override long RecordCount { get; }

    public override long FileBytes { get; }

    public override long MinTicks { get; }

    public override long MaxTicks { get; }

    public override IReadOnlyCollection<string> Sources => _sources;

    public IReadOnlyList<BlockInfo> Blocks => _blocks;

    /// <summary>Opens a sealed file: footer, index, id table; verifies every block's CRC (cheap: compressed bytes).</summary>
    /// <exception cref="InvalidDataException">Footer, index or id table is damaged: the file cannot be used.</exception>
    public static SealedSegment Open(string path, SegmentHeader header, SafeFileHandle handle, long fileLength, SealedOpenResult result)
    {
        if (fileLength < header.Length + FooterBytes)
            throw new InvalidDataException("Sealed segment shorter than its header and footer.");
        Span<byte> footer = stackalloc byte[FooterBytes];
        ReadExactly(handle, footer, fileLength - FooterBytes);
        if (!footer[40..].SequenceEqual(SegmentFormat.FooterMagic))
            throw new InvalidDataException("Sealed segment footer magic missing.");
        var indexOffset = BinaryPrimitives.ReadInt64LittleEndian(footer);
        var indexLength = BinaryPrimitives.ReadInt32LittleEndian(footer[8..]);
        var idTableOffset = BinaryPrimitives.ReadInt64LittleEndian(footer[12..]);
        var idTableLength = BinaryPrimitives.ReadInt32LittleEndian(footer[20..]);
        var idTableRawLength = BinaryPrimitives.ReadInt32LittleEndian(footer[24..]);
        var records = BinaryPrimitives.ReadInt64LittleEndian(footer[28..]);
        if (indexOffset < header.Length || indexLength < 8 || idTableOffset != indexOffset + indexLength || idTableLength < 0
            || idTableOffset + idTableLength != fileLength - FooterBytes || idTableRawLength < 0 || records < 0)
            throw new InvalidDataException("Sealed segment footer fields out of range.");

        var tail = new byte[indexLength + idTableLength];
        ReadExactly(handle, tail, indexOffset);
        var crc = Crc32C.Append(Crc32C.Start, tail);
        crc = Crc32C.Append(crc, footer[..36]);
        if (Crc32C.Finish(crc) != BinaryPrimitives.ReadUInt32LittleEndian(footer[36..]))
            throw new InvalidDataException("Sealed segment index CRC mismatch.");

        var (sources, blocks) = ParseIndex(tail.AsSpan(0, indexLength), indexOffset);
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

        // Digests per block; verify the compressed bytes of every block against the index.
        var position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            for (var b = 0; b < blocks.Length; b++)
            {
                var block = blocks[b];
                var ids = new List<RecordDigest>(block.RecordCount);
                for (var r = 0; r < block.RecordCount; r++)
                {
                    if (!Varint.TryRead(idTable.AsSpan(position), out var idLength, out var size) || position + size + idLength + 8 > idTable.Length)
                        throw new InvalidDataException("Sealed segment id table truncated.");
                    position += size;
                    var idBytes = idTable.AsSpan(position, (int)idLength);
                    var id = Encoding.UTF8.GetString(idBytes);
                    var idHash = RecordIdHash.Of(idBytes);
                    position += (int)idLength;
                    var hash = BinaryPrimitives.ReadUInt64LittleEndian(idTable.AsSpan(position));
                    position += 8;
                    if (!Varint.TryRead(idTable.AsSpan(position), out var encodedSize, out size))
                        throw new InvalidDataException("Sealed segment id table truncated.");
                    position += size;
                    ids.Add(new RecordDigest(id, hash, (int)encodedSize, idHash));
                }

                if (buffer.Length < block.CompressedLength)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(block.CompressedLength);
                }
                ReadExactly(handle, buffer.AsSpan(0, block.CompressedLength), block.Offset);
                if (Crc32C.Compute(buffer.AsSpan(0, block.CompressedLength)) != block.Crc)
                {
                    result.BadBlocks.Add(b);
                    result.CorruptBlocks.Add((block.Offset, block.CompressedLength, ids.Select(d => d.Id).ToList()));
                }
                else
                {
                    result.Digests.AddRange(ids);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new SealedSegment(path, header, handle, fileLength, blocks, sources, records, result.BadBlocks);
    }

    public override IEnumerable<Entry> Descending(RecordFilter filter, CorruptionSink corruption)
    {
        var sourceIndex = SourceIndex(filter);
        if (sourceIndex == -2)
            yield break;
        var offsets = new List<int>(256);
        for (var b = _blocks.Length - 1; b >= 0; b--)
        {
            var block = _blocks[b];
            if (block.MaxTicks < filter.FromTicks)
                yield break;
            if (!MayMatch(block, b, filter, sourceIndex))
                continue;
            var data = ReadBlock(b, corruption);
            if (data is null)
                continue;
            try
            {
                ParseEntries(data, block.RawLength, offsets);
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

    public override IEnumerable<Entry> StorageOrder(IdSet? ids, CorruptionSink corruption)
    {
        var offsets = new List<int>(256);
        for (var b = 0; b < _blocks.Length; b++)
        {
            if (_badBlocks.Contains(b))
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
                    var payload = data.AsMemory(start, length);
                    var id = ids is null ? ReadIdString(payload.Span) : ids.Match(ReadId(payload.Span));
                    if (id is not null)
                        yield return new Entry(payload, EncodedRecord.ReadTicks(payload.Span), id);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(data);
            }
        }
    }

    public override long Count(RecordFilter filter, CorruptionSink corruption)
    {
        var sourceIndex = SourceIndex(filter);
        if (sourceIndex == -2)
            return 0;
        long count = 0;
        var offsets = new List<int>(256);
        for (var b = 0; b < _blocks.Length; b++)
        {
            var block = _blocks[b];
            if (!MayMatch(block, b, filter, sourceIndex))
                continue;
            var wholeBlockInRange = block.MinTicks >= filter.FromTicks && block.MaxTicks < filter.ToTicks;
            var sourceExact = filter.Source is null || (block.SourceIndexes.Length == 1 && block.SourceIndexes[0] == sourceIndex);
            if (wholeBlockInRange && sourceExact && filter.Contains is null)
            {
                for (var level = 0; level < block.LevelCounts.Length; level++)
                {
                    if (filter.MatchesLevel((LogSeverity)level))
                        count += block.LevelCounts[level];
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

    /// <summary>-1: no source filter; -2: the source is absent from this segment; else its index.</summary>
    private int SourceIndex(RecordFilter filter) =>
        filter.Source is null ? -1 : Array.IndexOf(_sources, filter.Source) is var i and >= 0 ? i : -2;

    private bool MayMatch(BlockInfo block, int index, RecordFilter filter, int sourceIndex) =>
        !_badBlocks.Contains(index)
        && block.MaxTicks >= filter.FromTicks && block.MinTicks < filter.ToTicks
        && block.HasLevelIn(filter.LevelMask)
        && (sourceIndex < 0 || Array.IndexOf(block.SourceIndexes, (ushort)sourceIndex) >= 0);

    /// <summary>Reads, checks and decompresses one block into a pooled buffer (caller returns it); null when corrupt.</summary>
    private byte[]? ReadBlock(int index, CorruptionSink corruption)
    {
        var block = _blocks[index];
        var compressed = ArrayPool<byte>.Shared.Rent(block.CompressedLength);
        try
        {
            ReadExactly(Handle, compressed.AsSpan(0, block.CompressedLength), block.Offset);
            if (Crc32C.Compute(compressed.AsSpan(0, block.CompressedLength)) != block.Crc)
            {
                corruption(this, block.Offset, block.CompressedLength, null, "block CRC mismatch on read");
                return null;
            }
            var data = ArrayPool<byte>.Shared.Rent(block.RawLength);
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
                corruption(this, block.Offset, block.CompressedLength, null, "block does not decompress: " + ex.Message);
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
    private static void ParseEntries(byte[] data, int length, List<int> offsets)
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

    private static (int Start, int Length) Unpack(int position, byte[] data)
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

    private static (string[] Sources, BlockInfo[] Blocks) ParseIndex(ReadOnlySpan<byte> index, long indexOffset)
    {
        var position = 0;
        var sourceCount = BinaryPrimitives.ReadInt32LittleEndian(index);
        position += 4;
        if (sourceCount < 0 || sourceCount > ushort.MaxValue)
            throw new InvalidDataException("Sealed segment source table out of range.");
        var sources = new string[sourceCount];
        for (var i = 0; i < sourceCount; i++)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(index[position..]);
            position += 2;
            sources[i] = Encoding.UTF8.GetString(index.Slice(position, length));
            position += length;
        }
        var blockCount = BinaryPrimitives.ReadInt32LittleEndian(index[position..]);
        position += 4;
        if (blockCount < 0 || blockCount > index.Length / BlockInfo.FixedBytes)
            throw new InvalidDataException("Sealed segment block count out of range.");
        var blocks = new BlockInfo[blockCount];
        for (var b = 0; b < blockCount; b++)
        {
            var span = index[position..];
            var levelCounts = new int[6];
            for (var l = 0; l < 6; l++)
                levelCounts[l] = BinaryPrimitives.ReadInt32LittleEndian(span[(40 + 4 * l)..]);
            var sourceIndexCount = BinaryPrimitives.ReadUInt16LittleEndian(span[64..]);
            var sourceIndexes = new ushort[sourceIndexCount];
            for (var s = 0; s < sourceIndexCount; s++)
                sourceIndexes[s] = BinaryPrimitives.ReadUInt16LittleEndian(span[(66 + 2 * s)..]);
            blocks[b] = new BlockInfo
            {
                Offset = BinaryPrimitives.ReadInt64LittleEndian(span),
                CompressedLength = BinaryPrimitives.ReadInt32LittleEndian(span[8..]),
                RawLength = BinaryPrimitives.ReadInt32LittleEndian(span[12..]),
                RecordCount = BinaryPrimitives.ReadInt32LittleEndian(span[16..]),
                MinTicks = BinaryPrimitives.ReadInt64LittleEndian(span[20..]),
                MaxTicks = BinaryPrimitives.ReadInt64LittleEndian(span[28..]),
                Crc = BinaryPrimitives.ReadUInt32LittleEndian(span[36..]),
                LevelCounts = levelCounts,
                SourceIndexes = sourceIndexes,
            };
            if (blocks[b].Offset < 0 || blocks[b].Offset + blocks[b].CompressedLength > indexOffset || blocks[b].RawLength < 0 || blocks[b].RecordCount < 0)
                throw new InvalidDataException("Sealed segment block entry out of range.");
            position += BlockInfo.FixedBytes + 2 * sourceIndexCount;
        }
        return (sources, blocks);
    }

    internal static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var read = RandomAccess.Read(handle, destination[total..], offset + total);
            if (read == 0)
                throw new EndOfStreamException("Segment file ended early.");
            total += read;
        }
    }

    private static Decompressor RentDecompressor() => Decompressors.TryTake(out var d) ? d : new Decompressor();

    /// <summary>Writes a sealed segment to <c>*.tmp</c>, then makes it durable and renames it into place.</summary>
    internal sealed class Writer : IDisposable
    {
        private readonly string _finalPath;
        private readonly string _tempPath;
        private readonly SegmentHeader _header;
        private readonly int _blockBytes;
        private readonly FileStream _file;
        private readonly Compressor _compressor;
        private readonly List<BlockInfo> _blocks = [];
        private readonly ArrayBufferWriter<byte> _idTable = new(64 * 1024);
        private readonly Dictionary<string, int> _sourceIndex = new(StringComparer.Ordinal);
        private readonly List<string> _sources = [];
        private readonly HashSet<ushort> _blockSources = [];
        private readonly int[] _levelCounts = new int[6];
        private byte[] _block;
        private byte[] _compressed = [];
        private int _blockLength;
        private int _blockRecords;
        private long _blockMin = long.MaxValue;
        private long _blockMax = long.MinValue;
        private long _records;
        private bool _completed;

        public Writer(string finalPath, SegmentHeader header, int blockBytes, int compressionLevel)
        {
            _finalPath = finalPath;
            _tempPath = finalPath + SegmentFormat.TempExtension;
            _header = header;
            _blockBytes = blockBytes;
            _block = ArrayPool<byte>.Shared.Rent(blockBytes + 1024);
            _compressor = new Compressor(compressionLevel);
            _file = new FileStream(_tempPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1024 * 1024);
            _file.Write(header.ToBytes());
        }

        public long Records => _records;

        /// <summary>Adds the next record; records must come in (timestamp, id) order.</summary>
        public void Add(ReadOnlySpan<byte> payload, ulong contentHash)
        {
            if (!EncodedRecord.TryParse(payload, out var view))
                throw new InvalidDataException("Refusing to seal a malformed record.");
            var entryLength = Varint.Size((uint)payload.Length) + payload.Length;
            if (_blockLength > 0 && _blockLength + entryLength > _blockBytes)
                FlushBlock();
            if (_block.Length < _blockLength + entryLength)
            {
                var grown = ArrayPool<byte>.Shared.Rent(_blockLength + entryLength);
                _block.AsSpan(0, _blockLength).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(_block);
                _block = grown;
            }
            _blockLength += Varint.Write(_block.AsSpan(_blockLength), (uint)payload.Length);
            payload.CopyTo(_block.AsSpan(_blockLength));
            _blockLength += payload.Length;
            _blockRecords++;
            _records++;
            _blockMin = Math.Min(_blockMin, view.UnixTicks);
            _blockMax = Math.Max(_blockMax, view.UnixTicks);
            _levelCounts[(int)view.Level]++;
            _blockSources.Add(SourceIndexOf(view.Source));

            var id = view.Id;
            var span = _idTable.GetSpan(5 + id.Length + 8 + 5);
            var written = Varint.Write(span, (uint)id.Length);
            id.CopyTo(span[written..]);
            written += id.Length;
            BinaryPrimitives.WriteUInt64LittleEndian(span[written..], contentHash);
            written += 8;
            written += Varint.Write(span[written..], (uint)payload.Length);
            _idTable.Advance(written);
        }

        /// <summary>Finishes the file, fsyncs it, renames it into place and fsyncs the folder; opens it for reading.</summary>
        public SealedSegment Complete()
        {
            FlushBlock();
            var indexOffset = _file.Position;
            var index = new ArrayBufferWriter<byte>(4096);
            WriteIndex(index);
            var idTableRaw = _idTable.WrittenSpan;
            var idTable = new byte[Compressor.GetCompressBound(idTableRaw.Length)];
            var idTableLength = idTableRaw.Length == 0 ? 0 : _compressor.Wrap(idTableRaw, idTable);

            var footer = new byte[FooterBytes];
            BinaryPrimitives.WriteInt64LittleEndian(footer, indexOffset);
            BinaryPrimitives.WriteInt32LittleEndian(footer.AsSpan(8), index.WrittenCount);
            BinaryPrimitives.WriteInt64LittleEndian(footer.AsSpan(12), indexOffset + index.WrittenCount);
            BinaryPrimitives.WriteInt32LittleEndian(footer.AsSpan(20), idTableLength);
            BinaryPrimitives.WriteInt32LittleEndian(footer.AsSpan(24), idTableRaw.Length);
            BinaryPrimitives.WriteInt64LittleEndian(footer.AsSpan(28), _records);
            var crc = Crc32C.Append(Crc32C.Start, index.WrittenSpan);
            crc = Crc32C.Append(crc, idTable.AsSpan(0, idTableLength));
            crc = Crc32C.Append(crc, footer.AsSpan(0, 36));
            BinaryPrimitives.WriteUInt32LittleEndian(footer.AsSpan(36), Crc32C.Finish(crc));
            SegmentFormat.FooterMagic.CopyTo(footer.AsSpan(40));

            _file.Write(index.WrittenSpan);
            _file.Write(idTable, 0, idTableLength);
            _file.Write(footer);
            _file.Flush(flushToDisk: true);
            var length = _file.Length;
            _file.Dispose();
            File.Move(_tempPath, _finalPath);
            FileSync.FlushDirectory(System.IO.Path.GetDirectoryName(_finalPath)!);
            _completed = true;

            var handle = File.OpenHandle(_finalPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            return new SealedSegment(_finalPath, _header, handle, length, [.. _blocks], [.. _sources], _records, []);
        }

        private ushort SourceIndexOf(ReadOnlySpan<byte> source)
        {
            Span<char> chars = stackalloc char[LogRecord.MaxSourceBytes];
            var count = Encoding.UTF8.GetChars(source, chars);
            var lookup = _sourceIndex.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(chars[..count], out var index))
                return (ushort)index;
            if (_sources.Count >= ushort.MaxValue)
                throw new InvalidOperationException("More than 65535 sources in one bucket.");
            index = _sources.Count;
            var name = new string(chars[..count]);
            _sources.Add(name);
            _sourceIndex.Add(name, index);
            return (ushort)index;
        }

        private void FlushBlock()
        {
            if (_blockRecords == 0)
                return;
            var bound = Compressor.GetCompressBound(_blockLength);
            if (_compressed.Length < bound)
                _compressed = new byte[bound];
            var compressedLength = _compressor.Wrap(_block.AsSpan(0, _blockLength), _compressed);
            var offset = _file.Position;
            _file.Write(_compressed, 0, compressedLength);
            var sources = _blockSources.ToArray();
            Array.Sort(sources);
            _blocks.Add(new BlockInfo
            {
                Offset = offset,
                CompressedLength = compressedLength,
                RawLength = _blockLength,
                RecordCount = _blockRecords,
                MinTicks = _blockMin,
                MaxTicks = _blockMax,
                Crc = Crc32C.Compute(_compressed.AsSpan(0, compressedLength)),
                LevelCounts = (int[])_levelCounts.Clone(),
                SourceIndexes = sources,
            });
            _blockLength = 0;
            _blockRecords = 0;
            _blockMin = long.MaxValue;
            _blockMax = long.MinValue;
            Array.Clear(_levelCounts);
            _blockSources.Clear();
        }

        private void WriteIndex(ArrayBufferWriter<byte> index)
        {
            var span = index.GetSpan(4);
            BinaryPrimitives.WriteInt32LittleEndian(span, _sources.Count);
            index.Advance(4);
            foreach (var source in _sources)
            {
                var bytes = Encoding.UTF8.GetBytes(source);
                span = index.GetSpan(2 + bytes.Length);
                BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)bytes.Length);
                bytes.CopyTo(span[2..]);
                index.Advance(2 + bytes.Length);
            }
            span = index.GetSpan(4);
            BinaryPrimitives.WriteInt32LittleEndian(span, _blocks.Count);
            index.Advance(4);
            foreach (var block in _blocks)
            {
                var size = BlockInfo.FixedBytes + 2 * block.SourceIndexes.Length;
                span = index.GetSpan(size);
                BinaryPrimitives.WriteInt64LittleEndian(span, block.Offset);
                BinaryPrimitives.WriteInt32LittleEndian(span[8..], block.CompressedLength);
                BinaryPrimitives.WriteInt32LittleEndian(span[12..], block.RawLength);
                BinaryPrimitives.WriteInt32LittleEndian(span[16..], block.RecordCount);
                BinaryPrimitives.WriteInt64LittleEndian(span[20..], block.MinTicks);
                BinaryPrimitives.WriteInt64LittleEndian(span[28..], block.MaxTicks);
                BinaryPrimitives.WriteUInt32LittleEndian(span[36..], block.Crc);
                for (var l = 0; l < 6; l++)
                    BinaryPrimitives.WriteInt32LittleEndian(span[(40 + 4 * l)..], block.LevelCounts[l]);
                BinaryPrimitives.WriteUInt16LittleEndian(span[64..], (ushort)block.SourceIndexes.Length);
                for (var s = 0; s < block.SourceIndexes.Length; s++)
                    BinaryPrimitives.WriteUInt16LittleEndian(span[(66 + 2 * s)..], block.SourceIndexes[s]);
                index.Advance(size);
            }
        }

        public void Dispose()
        {
            _compressor.Dispose();
            ArrayPool<byte>.Shared.Return(_block);
            if (!_completed)
            {
                _file.Dispose();
                try
                {
                    File.Delete(_tempPath);
                }
                catch (IOException)
                {
                    // Leftover temp files are removed at the next start-up.
                }
            }
        }
    }
}
