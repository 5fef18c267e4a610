using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using ZstdSharp;

namespace LogStream.Storage;

/// <summary>
/// Writes a version 2 sealed segment to <c>*.tmp</c>: records in (timestamp, id) order into zstd blocks, then the
/// block index, the id index sorted by (id hash, content hash) in checked pages with their fences, the Merkle leaves
/// and the footer; then makes it durable and renames it into place. While writing it holds 20 bytes per record (the
/// id index entries, in pages) and one block.
/// </summary>
internal sealed class SealedSegmentWriter : IDisposable
{
    /// <summary>Id index entries sorted per pass at most (one pass over the entries per this many).</summary>
    private const int SortChunk = 1 << 21;

    private readonly string _finalPath;
    private readonly string _tempPath;
    private readonly SegmentHeader _header;
    private readonly int _blockBytes;
    private readonly FileStream _file;
    private readonly Compressor _compressor;
    private readonly List<BlockInfo> _blocks = [];
    private readonly PagedList<IdIndexEntry> _entries = new();
    private readonly MerkleLeaves _leaves = new();
    private readonly Dictionary<string, int> _sourceIndex = new(StringComparer.Ordinal);
    private readonly List<string> _sources = [];
    private readonly HashSet<ushort> _blockSources = [];
    private LevelCounts _levelCounts;
    private byte[] _block;
    private byte[] _compressed = [];
    private int _blockLength;
    private int _blockRecords;
    private long _blockMin = long.MaxValue;
    private long _blockMax = long.MinValue;
    private bool _completed;

    private readonly SegmentContext _context;

    public SealedSegmentWriter(string finalPath, SegmentHeader header, int blockBytes, int compressionLevel, SegmentContext context)
    {
        _context = context;
        if (header.Kind != SegmentKind.Sealed || header.Version != SegmentFormat.SealedVersion)
            throw new ArgumentException("A sealed segment of the current version is written.", nameof(header));
        _finalPath = finalPath;
        _tempPath = finalPath + SegmentFormat.TempExtension;
        _header = header;
        _blockBytes = blockBytes;
        _block = ArrayPool<byte>.Shared.Rent(blockBytes + 1024);
        _compressor = new Compressor(compressionLevel);
        _file = new FileStream(_tempPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1024 * 1024);
        _file.Write(header.ToBytes());
    }

    public long Records => _entries.Count;

    /// <summary>The Merkle leaves of the records added so far.</summary>
    public MerkleLeaves Leaves => _leaves;

    /// <summary>Adds the next record; records must come in (timestamp, id) order. Returns its id hash.</summary>
    public ulong Add(ReadOnlySpan<byte> payload)
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
        _blockMin = Math.Min(_blockMin, view.UnixTicks);
        _blockMax = Math.Max(_blockMax, view.UnixTicks);
        _levelCounts[(int)view.Level]++;
        _blockSources.Add(SourceIndexOf(view.Source));

        var idHash = _context.IdHash(view.Id);
        var contentHash = LogRecordCodec.ComputeContentHash(payload);
        _entries.Add(new IdIndexEntry(idHash, contentHash, _blocks.Count));
        _leaves.Add(idHash, contentHash);
        return idHash;
    }

    /// <summary>Finishes the file, fsyncs it, renames it into place and fsyncs the folder; opens it for reading.</summary>
    public SealedSegment Complete()
    {
        FlushBlock();
        var blockIndexOffset = _file.Position;
        var blockIndex = new ArrayBufferWriter<byte>(4096);
        SealedFormat.WriteBlockIndex(blockIndex, _sources, _blocks);
        _file.Write(blockIndex.WrittenSpan);

        var idIndexOffset = _file.Position;
        var fences = WriteIdIndex();
        var fencesOffset = _file.Position;
        _file.Write(fences);
        var leaves = new byte[MerkleLeaves.SerializedBytes];
        _leaves.WriteTo(leaves);
        var leavesOffset = _file.Position;
        _file.Write(leaves);

        var footer = new SealedFormat.FooterV2(blockIndexOffset, blockIndex.WrittenCount, idIndexOffset, _entries.Count, SealedFormat.EntriesPerPage,
            fencesOffset, fences.Length, leavesOffset, leaves.Length, Crc32C.Compute(fences));
        var footerBytes = new byte[SealedFormat.FooterV2Bytes];
        footer.WriteTo(footerBytes, blockIndex.WrittenSpan, leaves);
        _file.Write(footerBytes);
        _file.Flush(flushToDisk: true);
        var length = _file.Length;
        _file.Dispose();
        File.Move(_tempPath, _finalPath);
        FileSync.FlushDirectory(Path.GetDirectoryName(_finalPath)!);
        _completed = true;

        var handle = File.OpenHandle(_finalPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        return SealedSegment.OpenWritten(_finalPath, _header, handle, length, [.. _blocks], [.. _sources], footer, _context);
    }

    /// <summary>
    /// Writes the id index sorted by (id hash, content hash) and returns its fences. Entries are sorted a range of hash
    /// values at a time (one pass over them per <see cref="SortChunk"/> entries, hashes being uniform), so the sort
    /// never needs one array of every entry.
    /// </summary>
    private byte[] WriteIdIndex()
    {
        var count = _entries.Count;
        var pages = (count + SealedFormat.EntriesPerPage - 1) / SealedFormat.EntriesPerPage;
        var fences = new byte[pages * SealedFormat.FenceBytes];
        var passes = Math.Max(1, (count + SortChunk - 1) / SortChunk);
        var page = new byte[SealedFormat.EntriesPerPage * IdIndexEntry.Bytes];
        var inPage = 0;
        var pageNumber = 0;
        var written = 0;
        for (var pass = 0; pass < passes; pass++)
        {
            var low = RangeStart(pass, passes);
            var high = pass + 1 == passes ? ulong.MaxValue : RangeStart(pass + 1, passes) - 1;
            var chunk = new List<IdIndexEntry>(count / passes + 16);
            for (var i = 0; i < count; i++)
            {
                var entry = _entries[i];
                if (entry.IdHash >= low && entry.IdHash <= high)
                    chunk.Add(entry);
            }
            chunk.Sort();
            foreach (var entry in chunk)
            {
                if (inPage == 0)
                    BinaryPrimitives.WriteUInt64LittleEndian(fences.AsSpan(pageNumber * SealedFormat.FenceBytes), entry.IdHash);
                entry.WriteTo(page.AsSpan(inPage * IdIndexEntry.Bytes));
                if (++inPage == SealedFormat.EntriesPerPage)
                    EndPage();
                written++;
            }
        }
        if (inPage > 0)
            EndPage();
        if (written != count)
            throw new InvalidOperationException($"The id index holds {written} entries of {count}.");
        return fences;

        void EndPage()
        {
            var bytes = page.AsSpan(0, inPage * IdIndexEntry.Bytes);
            BinaryPrimitives.WriteUInt32LittleEndian(fences.AsSpan(pageNumber * SealedFormat.FenceBytes + 8), Crc32C.Compute(bytes));
            _file.Write(bytes);
            pageNumber++;
            inPage = 0;
        }
    }

    private static ulong RangeStart(int pass, int passes) => pass == 0 ? 0 : (ulong)((UInt128)ulong.MaxValue * (ulong)pass / (ulong)passes) + 1;

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
        if (_blocks.Count > 0 && _blocks[^1].SourceIndexes.AsSpan().SequenceEqual(sources))
            sources = _blocks[^1].SourceIndexes;
        _blocks.Add(new BlockInfo
        {
            Offset = offset,
            CompressedLength = compressedLength,
            RawLength = _blockLength,
            RecordCount = _blockRecords,
            MinTicks = _blockMin,
            MaxTicks = _blockMax,
            Crc = Crc32C.Compute(_compressed.AsSpan(0, compressedLength)),
            Levels = _levelCounts,
            SourceIndexes = sources,
        });
        _blockLength = 0;
        _blockRecords = 0;
        _blockMin = long.MaxValue;
        _blockMax = long.MinValue;
        _levelCounts = default;
        _blockSources.Clear();
    }

    public void Dispose()
    {
        _entries.Dispose();
        _compressor.Dispose();
        ArrayPool<byte>.Shared.Return(_block);
        _block = [];
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
