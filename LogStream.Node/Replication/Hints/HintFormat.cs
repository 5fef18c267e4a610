using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using LogStream.Storage;
using Microsoft.Win32.SafeHandles;

namespace LogStream.Node.Replication.Hints;

/// <summary>
/// The on-disk format of the hint log (version 1, little-endian). Per target node a folder
/// <c>{DataDirectory}/hints/{target}/</c> holds append-only segments <c>00000001.hints</c>, … and one <c>cursor</c> file.
/// <para>Segment header:</para>
/// <code>
/// 0   4  magic "LHNT"
/// 4   2  format version (1)
/// 6   2  flags (0)
/// 8   4  sequence number of the segment (also its file name)
/// 12  8  creation time, 100 ns ticks since the Unix epoch
/// 20  2  target node id length N (UTF-8 bytes)
/// 22  N  target node id
/// 22+N 4 CRC32C of bytes [0, 22+N)
/// </code>
/// <para>
/// Then entries, each one frame exactly as in the storage segments (<see cref="SegmentFormat"/>: u32 payload length,
/// u32 CRC32C of the length bytes and the payload, payload). An entry's payload:
/// </para>
/// <code>
/// 0   8  hint time: when the coordinator stored the hint, 100 ns ticks since the Unix epoch
/// 8   4  record count C (at least 1)
/// 12  …  C times: varint L, then L bytes of the record's canonical encoding (LogRecordCodec)
/// </code>
/// <para>Cursor file: two slots of 36 bytes at offsets 0 and 64; the valid one with the higher generation wins.</para>
/// <code>
/// 0   4  magic "LHCR"
/// 4   2  format version (1)
/// 6   2  reserved (0)
/// 8   8  generation (slot = generation % 2)
/// 16  4  segment sequence of the first record not yet delivered
/// 20  4  index of that record within its entry
/// 24  8  file offset of that entry (0: the start of the segment)
/// 32  4  CRC32C of bytes [0, 32)
/// </code>
/// </summary>
internal static class HintFormat
{
    public const ushort FormatVersion = 1;
    public const int HeaderFixedBytes = 22;
    public const int MaxTargetBytes = 255;
    public const int MaxHeaderBytes = HeaderFixedBytes + MaxTargetBytes + 4;

    /// <summary>Hint time and record count before the records of an entry.</summary>
    public const int EntryHeaderBytes = 12;

    /// <summary>Smallest valid entry payload: its header and one minimal record (length varint and 13 bytes).</summary>
    public const int MinEntryPayload = EntryHeaderBytes + 1 + 13;

    /// <summary>
    /// A store is cut into entries of about this many payload bytes, so a replay batch never has to read (and check)
    /// a much larger entry than it delivers. A record bigger than this gets an entry of its own.
    /// </summary>
    public const int TargetEntryPayload = 64 * 1024;

    /// <summary>Largest record a hint holds: one record alone must fit a frame.</summary>
    public const int MaxRecordBytes = Frame.MaxPayload - EntryHeaderBytes - 5;

    public const string SegmentExtension = ".hints";
    public const string CorruptExtension = ".corrupt";
    public const string CursorFileName = "cursor";

    public const int CursorSlotBytes = 36;
    public const int CursorSlotStride = 64;

    public static ReadOnlySpan<byte> Magic => "LHNT"u8;

    public static ReadOnlySpan<byte> CursorMagic => "LHCR"u8;

    public static string SegmentFileName(uint sequence) => sequence.ToString("D8", CultureInfo.InvariantCulture) + SegmentExtension;

    public static bool TryParseSegmentFileName(string fileName, out uint sequence)
    {
        sequence = 0;
        return fileName.EndsWith(SegmentExtension, StringComparison.Ordinal)
            && uint.TryParse(fileName.AsSpan(0, fileName.Length - SegmentExtension.Length), NumberStyles.None, CultureInfo.InvariantCulture, out sequence)
            && sequence > 0;
    }

    public static byte[] Header(uint sequence, string target, long createdTicks)
    {
        var id = Encoding.UTF8.GetBytes(target);
        var bytes = new byte[HeaderFixedBytes + id.Length + 4];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(6), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), sequence);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(12), createdTicks);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(20), (ushort)id.Length);
        id.CopyTo(bytes.AsSpan(HeaderFixedBytes));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(HeaderFixedBytes + id.Length), Crc32C.Compute(bytes.AsSpan(0, HeaderFixedBytes + id.Length)));
        return bytes;
    }

    public enum HeaderStatus { Ok, Torn, BadMagic, UnsupportedVersion, BadChecksum, WrongTarget }

    /// <summary>
    /// Reads a segment header. <see cref="HeaderStatus.Torn"/>: the file is shorter than its header, as when a crash
    /// interrupted its creation (the header is made durable before any entry is written, so nothing else is lost).
    /// </summary>
    public static HeaderStatus TryReadHeader(SafeFileHandle file, long fileLength, uint expectedSequence, string expectedTarget, out int headerLength)
    {
        headerLength = 0;
        Span<byte> buffer = stackalloc byte[MaxHeaderBytes];
        var read = RandomAccess.Read(file, buffer[..(int)Math.Min(buffer.Length, fileLength)], 0);
        if (read < 4)
            return HeaderStatus.Torn;
        if (!buffer[..4].SequenceEqual(Magic))
            return fileLength <= MaxHeaderBytes && buffer[..read].IndexOfAnyExcept((byte)0) < 0 ? HeaderStatus.Torn : HeaderStatus.BadMagic;
        if (read < HeaderFixedBytes)
            return HeaderStatus.Torn;
        if (BinaryPrimitives.ReadUInt16LittleEndian(buffer[4..]) != FormatVersion)
            return HeaderStatus.UnsupportedVersion;
        var idLength = BinaryPrimitives.ReadUInt16LittleEndian(buffer[20..]);
        if (idLength > MaxTargetBytes)
            return HeaderStatus.BadChecksum;
        if (read < HeaderFixedBytes + idLength + 4)
            return HeaderStatus.Torn;
        var expected = BinaryPrimitives.ReadUInt32LittleEndian(buffer[(HeaderFixedBytes + idLength)..]);
        if (Crc32C.Compute(buffer[..(HeaderFixedBytes + idLength)]) != expected)
            return HeaderStatus.BadChecksum;
        if (BinaryPrimitives.ReadUInt32LittleEndian(buffer[8..]) != expectedSequence
            || !buffer.Slice(HeaderFixedBytes, idLength).SequenceEqual(Encoding.UTF8.GetBytes(expectedTarget)))
            return HeaderStatus.WrongTarget;
        headerLength = HeaderFixedBytes + idLength + 4;
        return HeaderStatus.Ok;
    }

    /// <summary>Checks an entry's payload: header, every record length in bounds and well formed, nothing after.</summary>
    public static bool TryParseEntry(ReadOnlySpan<byte> payload, out long hintTicks, out int count)
    {
        hintTicks = 0;
        count = 0;
        if (payload.Length < MinEntryPayload)
            return false;
        var declared = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        if (declared == 0 || declared > (uint)payload.Length)
            return false;
        var position = EntryHeaderBytes;
        for (var i = 0u; i < declared; i++)
        {
            if (!Varint.TryRead(payload[position..], out var length, out var size) || length > (uint)(payload.Length - position - size))
                return false;
            position += size;
            if (!LogRecordCodec.IsWellFormed(payload.Slice(position, (int)length)))
                return false;
            position += (int)length;
        }
        if (position != payload.Length)
            return false;
        hintTicks = BinaryPrimitives.ReadInt64LittleEndian(payload);
        count = (int)declared;
        return true;
    }

    /// <summary>Decodes records [<paramref name="from"/>, <paramref name="from"/> + <paramref name="take"/>) of a checked entry.</summary>
    public static void DecodeRecords(ReadOnlySpan<byte> payload, int from, int take, List<LogRecord> into)
    {
        var position = EntryHeaderBytes;
        for (var i = 0; i < from + take; i++)
        {
            Varint.TryRead(payload[position..], out var length, out var size);
            position += size;
            if (i >= from)
                into.Add(LogRecordCodec.Decode(payload.Slice(position, (int)length)));
            position += (int)length;
        }
    }

    public static void WriteCursorSlot(Span<byte> slot, ulong generation, HintPosition position)
    {
        CursorMagic.CopyTo(slot);
        BinaryPrimitives.WriteUInt16LittleEndian(slot[4..], FormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(slot[6..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[8..], generation);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[16..], position.Sequence);
        BinaryPrimitives.WriteInt32LittleEndian(slot[20..], position.Index);
        BinaryPrimitives.WriteInt64LittleEndian(slot[24..], position.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[32..], Crc32C.Compute(slot[..32]));
    }

    public static bool TryReadCursorSlot(ReadOnlySpan<byte> slot, out ulong generation, out HintPosition position)
    {
        generation = 0;
        position = default;
        if (slot.Length < CursorSlotBytes || !slot[..4].SequenceEqual(CursorMagic)
            || BinaryPrimitives.ReadUInt16LittleEndian(slot[4..]) != FormatVersion
            || Crc32C.Compute(slot[..32]) != BinaryPrimitives.ReadUInt32LittleEndian(slot[32..]))
            return false;
        var index = BinaryPrimitives.ReadInt32LittleEndian(slot[20..]);
        var offset = BinaryPrimitives.ReadInt64LittleEndian(slot[24..]);
        if (index < 0 || offset < 0)
            return false;
        generation = BinaryPrimitives.ReadUInt64LittleEndian(slot[8..]);
        position = new HintPosition(BinaryPrimitives.ReadUInt32LittleEndian(slot[16..]), offset, index);
        return true;
    }
}

/// <summary>
/// Where replay of a target stands: the first record not yet delivered is record <see cref="Index"/> of the entry at
/// <see cref="Offset"/> in segment <see cref="Sequence"/> (offset 0: the segment's first entry). Every segment with a
/// lower sequence is delivered (or expired) and deleted.
/// </summary>
internal readonly record struct HintPosition(uint Sequence, long Offset, int Index);
