using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace LogStream.Storage;

/// <summary>Records per level (TRACE … FATAL) in one block.</summary>
[InlineArray(6)]
internal struct LevelCounts
{
    private int _count;
}

/// <summary>Index entry of one block of a sealed segment: what a query needs to skip it. A struct: one array per segment.</summary>
internal struct BlockInfo
{
    public const int FixedBytes = 8 + 4 + 4 + 4 + 8 + 8 + 4 + 6 * 4 + 2;

    public long Offset;
    public int CompressedLength;
    public int RawLength;
    public int RecordCount;
    public long MinTicks;
    public long MaxTicks;
    public uint Crc;
    public LevelCounts Levels;

    /// <summary>Indexes into the segment's source table (shared arrays: blocks with the same sources hold one instance).</summary>
    public ushort[] SourceIndexes;

    public readonly bool HasLevelIn(int mask)
    {
        for (var level = 0; level < 6; level++)
        {
            if (Levels[level] > 0 && (mask & (1 << level)) != 0)
                return true;
        }
        return false;
    }
}

/// <summary>
/// The parts of a sealed segment after its blocks (docs/storage-format.md): the block index (both versions), and the
/// version 2 sections: the id index sorted by id hash, its fences, the Merkle leaves and the footer.
/// </summary>
internal static class SealedFormat
{
    /// <summary>Version 1 (read only): block index, a zstd id table of every record, a 44-byte footer "LSEF".</summary>
    public const int FooterV1Bytes = 44;

    /// <summary>Version 2: block index, id index, fences, leaves, an 80-byte footer "LSF2".</summary>
    public const int FooterV2Bytes = 80;

    /// <summary>Id index entries per page: the unit read, checked (CRC in its fence) and searched.</summary>
    public const int EntriesPerPage = 256;

    /// <summary>A fence: the first id hash of a page and the CRC-32C of the page's bytes.</summary>
    public const int FenceBytes = 12;

    public static ReadOnlySpan<byte> FooterV1Magic => "LSEF"u8;

    public static ReadOnlySpan<byte> FooterV2Magic => "LSF2"u8;

    /// <summary>
    /// Version 2 footer, little-endian:
    /// <code>
    /// 0   8  block index offset        8   4  block index length
    /// 12  8  id index offset           20  8  records (= id index entries)
    /// 28  4  entries per page          32  8  fences offset
    /// 40  4  fences length             44  8  leaves offset
    /// 52  4  leaves length             56  4  CRC-32C of the fences
    /// 60  4  CRC-32C of (block index, leaves, footer bytes [0, 60))
    /// 64  12 reserved (0)              76  4  magic "LSF2"
    /// </code>
    /// </summary>
    public readonly record struct FooterV2(
        long BlockIndexOffset, int BlockIndexLength, long IdIndexOffset, long Records, int EntriesPerPage,
        long FencesOffset, int FencesLength, long LeavesOffset, int LeavesLength, uint FencesCrc)
    {
        public void WriteTo(Span<byte> footer, ReadOnlySpan<byte> blockIndex, ReadOnlySpan<byte> leaves)
        {
            footer.Clear();
            BinaryPrimitives.WriteInt64LittleEndian(footer, BlockIndexOffset);
            BinaryPrimitives.WriteInt32LittleEndian(footer[8..], BlockIndexLength);
            BinaryPrimitives.WriteInt64LittleEndian(footer[12..], IdIndexOffset);
            BinaryPrimitives.WriteInt64LittleEndian(footer[20..], Records);
            BinaryPrimitives.WriteInt32LittleEndian(footer[28..], EntriesPerPage);
            BinaryPrimitives.WriteInt64LittleEndian(footer[32..], FencesOffset);
            BinaryPrimitives.WriteInt32LittleEndian(footer[40..], FencesLength);
            BinaryPrimitives.WriteInt64LittleEndian(footer[44..], LeavesOffset);
            BinaryPrimitives.WriteInt32LittleEndian(footer[52..], LeavesLength);
            BinaryPrimitives.WriteUInt32LittleEndian(footer[56..], FencesCrc);
            BinaryPrimitives.WriteUInt32LittleEndian(footer[60..], Checksum(blockIndex, leaves, footer[..60]));
            FooterV2Magic.CopyTo(footer[76..]);
        }

        /// <exception cref="InvalidDataException">Magic or a field is off.</exception>
        public static FooterV2 Read(ReadOnlySpan<byte> footer, long headerLength, long fileLength)
        {
            if (!footer[76..].SequenceEqual(FooterV2Magic))
                throw new InvalidDataException("Sealed segment footer magic missing.");
            var value = new FooterV2(
                BinaryPrimitives.ReadInt64LittleEndian(footer), BinaryPrimitives.ReadInt32LittleEndian(footer[8..]),
                BinaryPrimitives.ReadInt64LittleEndian(footer[12..]), BinaryPrimitives.ReadInt64LittleEndian(footer[20..]),
                BinaryPrimitives.ReadInt32LittleEndian(footer[28..]), BinaryPrimitives.ReadInt64LittleEndian(footer[32..]),
                BinaryPrimitives.ReadInt32LittleEndian(footer[40..]), BinaryPrimitives.ReadInt64LittleEndian(footer[44..]),
                BinaryPrimitives.ReadInt32LittleEndian(footer[52..]), BinaryPrimitives.ReadUInt32LittleEndian(footer[56..]));
            if (value.EntriesPerPage != SealedFormat.EntriesPerPage || value.Records < 0)
                throw new InvalidDataException("Sealed segment footer fields out of range.");
            var pages = (value.Records + value.EntriesPerPage - 1) / value.EntriesPerPage;
            if (value.BlockIndexOffset < headerLength || value.BlockIndexLength < 8
                || value.IdIndexOffset != value.BlockIndexOffset + value.BlockIndexLength
                || value.FencesOffset != value.IdIndexOffset + value.Records * IdIndexEntry.Bytes
                || value.FencesLength != pages * FenceBytes
                || value.LeavesOffset != value.FencesOffset + value.FencesLength
                || value.LeavesLength != MerkleLeaves.SerializedBytes
                || value.LeavesOffset + value.LeavesLength != fileLength - FooterV2Bytes)
                throw new InvalidDataException("Sealed segment footer fields out of range.");
            return value;
        }

        public static uint Checksum(ReadOnlySpan<byte> blockIndex, ReadOnlySpan<byte> leaves, ReadOnlySpan<byte> footerStart)
        {
            var crc = Crc32C.Append(Crc32C.Start, blockIndex);
            crc = Crc32C.Append(crc, leaves);
            crc = Crc32C.Append(crc, footerStart);
            return Crc32C.Finish(crc);
        }
    }

    /// <summary>Encodes the source table and the block entries.</summary>
    public static void WriteBlockIndex(IBufferWriter<byte> index, IReadOnlyList<string> sources, IReadOnlyList<BlockInfo> blocks)
    {
        var span = index.GetSpan(4);
        BinaryPrimitives.WriteInt32LittleEndian(span, sources.Count);
        index.Advance(4);
        foreach (var source in sources)
        {
            var bytes = Encoding.UTF8.GetBytes(source);
            span = index.GetSpan(2 + bytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)bytes.Length);
            bytes.CopyTo(span[2..]);
            index.Advance(2 + bytes.Length);
        }
        span = index.GetSpan(4);
        BinaryPrimitives.WriteInt32LittleEndian(span, blocks.Count);
        index.Advance(4);
        foreach (var block in blocks)
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
                BinaryPrimitives.WriteInt32LittleEndian(span[(40 + 4 * l)..], block.Levels[l]);
            BinaryPrimitives.WriteUInt16LittleEndian(span[64..], (ushort)block.SourceIndexes.Length);
            for (var s = 0; s < block.SourceIndexes.Length; s++)
                BinaryPrimitives.WriteUInt16LittleEndian(span[(66 + 2 * s)..], block.SourceIndexes[s]);
            index.Advance(size);
        }
    }

    /// <exception cref="InvalidDataException">A count or an entry is out of range.</exception>
    public static (string[] Sources, BlockInfo[] Blocks) ParseBlockIndex(ReadOnlySpan<byte> index, long blocksEnd)
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
        var shared = new Dictionary<string, ushort[]>(StringComparer.Ordinal);
        ushort[] previous = [];
        for (var b = 0; b < blockCount; b++)
        {
            var span = index[position..];
            ref var block = ref blocks[b];
            block.Offset = BinaryPrimitives.ReadInt64LittleEndian(span);
            block.CompressedLength = BinaryPrimitives.ReadInt32LittleEndian(span[8..]);
            block.RawLength = BinaryPrimitives.ReadInt32LittleEndian(span[12..]);
            block.RecordCount = BinaryPrimitives.ReadInt32LittleEndian(span[16..]);
            block.MinTicks = BinaryPrimitives.ReadInt64LittleEndian(span[20..]);
            block.MaxTicks = BinaryPrimitives.ReadInt64LittleEndian(span[28..]);
            block.Crc = BinaryPrimitives.ReadUInt32LittleEndian(span[36..]);
            for (var l = 0; l < 6; l++)
                block.Levels[l] = BinaryPrimitives.ReadInt32LittleEndian(span[(40 + 4 * l)..]);
            var sourceIndexCount = BinaryPrimitives.ReadUInt16LittleEndian(span[64..]);
            var sourceBytes = span.Slice(66, 2 * sourceIndexCount);
            var indexes = previous;
            if (!SameSources(previous, sourceBytes) && !shared.TryGetValue(Convert.ToHexString(sourceBytes), out indexes))
            {
                indexes = new ushort[sourceIndexCount];
                for (var s = 0; s < sourceIndexCount; s++)
                {
                    indexes[s] = BinaryPrimitives.ReadUInt16LittleEndian(sourceBytes[(2 * s)..]);
                    if (indexes[s] >= sourceCount)
                        throw new InvalidDataException("Sealed segment block names an unknown source.");
                }
                shared[Convert.ToHexString(sourceBytes)] = indexes;
            }
            block.SourceIndexes = previous = indexes;
            if (block.Offset < 0 || block.Offset + block.CompressedLength > blocksEnd || block.RawLength < 0 || block.RecordCount < 0
                || block.CompressedLength < 0)
                throw new InvalidDataException("Sealed segment block entry out of range.");
            position += BlockInfo.FixedBytes + 2 * sourceIndexCount;
        }
        return (sources, blocks);
    }

    private static bool SameSources(ushort[] indexes, ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != 2 * indexes.Length)
            return false;
        for (var s = 0; s < indexes.Length; s++)
        {
            if (BinaryPrimitives.ReadUInt16LittleEndian(encoded[(2 * s)..]) != indexes[s])
                return false;
        }
        return true;
    }
}
