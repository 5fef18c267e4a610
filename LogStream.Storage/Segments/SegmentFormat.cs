using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LogStream.Storage;

/// <summary>Kind of a segment file (header byte 6). Frozen, append-only values.</summary>
internal enum SegmentKind : byte
{
    /// <summary><c>*.log</c>: append-only frames (length, CRC32C, record).</summary>
    Log = 1,

    /// <summary><c>*.sealed</c>: zstd blocks of records sorted by (timestamp, id), then indexes and a footer.</summary>
    Sealed = 2,
}

/// <summary>
/// The common segment header (see docs/storage-format.md), little-endian:
/// <code>
/// 0   4  magic "LSEG"
/// 4   2  format version (log segments 1; sealed segments 2, or 1 when written before the id index existed)
/// 6   1  kind (1 log, 2 sealed)
/// 7   1  flags (0)
/// 8   8  bucket start, 100 ns ticks since the Unix epoch
/// 16  8  bucket width, ticks
/// 24  4  sequence number of this segment within its bucket
/// 28  4  replaces-up-to: segments of this bucket with a sequence &lt;= this are obsolete once this file exists (0: none)
/// 32  2  partition key length N (UTF-8 bytes)
/// 34  N  partition key
/// 34+N 4 CRC32C of bytes [0, 34+N)
/// </code>
/// </summary>
internal sealed record SegmentHeader(SegmentKind Kind, long BucketTicks, long WidthTicks, uint Sequence, uint ReplacesUpTo, string Partition)
{
    public const int FixedBytes = 34;
    public const int MaxPartitionBytes = 1024;

    /// <summary>The format version: what new files of this kind are written with, or what an existing file says.</summary>
    public ushort Version { get; init; } = SegmentFormat.CurrentVersion(Kind);

    public int Length => FixedBytes + Encoding.UTF8.GetByteCount(Partition) + 4;

    public byte[] ToBytes()
    {
        var partition = Encoding.UTF8.GetBytes(Partition);
        var bytes = new byte[FixedBytes + partition.Length + 4];
        SegmentFormat.Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), Version);
        bytes[6] = (byte)Kind;
        bytes[7] = 0;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), BucketTicks);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), WidthTicks);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), Sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(28), ReplacesUpTo);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(32), (ushort)partition.Length);
        partition.CopyTo(bytes.AsSpan(FixedBytes));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(FixedBytes + partition.Length), Crc32C.Compute(bytes.AsSpan(0, FixedBytes + partition.Length)));
        return bytes;
    }

    public enum ReadStatus { Ok, TooShort, BadMagic, UnsupportedVersion, BadChecksum }

    /// <summary>Reads the header at the start of a file.</summary>
    public static ReadStatus TryRead(SafeFileHandle file, long fileLength, out SegmentHeader? header)
    {
        header = null;
        Span<byte> buffer = stackalloc byte[FixedBytes + MaxPartitionBytes + 4];
        var read = RandomAccess.Read(file, buffer[..(int)Math.Min(buffer.Length, fileLength)], 0);
        if (read < FixedBytes + 4)
            return ReadStatus.TooShort;
        if (!buffer[..4].SequenceEqual(SegmentFormat.Magic))
            return ReadStatus.BadMagic;
        var version = BinaryPrimitives.ReadUInt16LittleEndian(buffer[4..]);
        var partitionLength = BinaryPrimitives.ReadUInt16LittleEndian(buffer[32..]);
        if (partitionLength > MaxPartitionBytes)
            return ReadStatus.BadChecksum;
        // The fixed part was written, so this file was meant to be a segment: a partition key running past the end is
        // damage (moved aside, reported), not a header that never became durable (deleted).
        if (read < FixedBytes + partitionLength + 4)
            return ReadStatus.BadChecksum;
        var expected = BinaryPrimitives.ReadUInt32LittleEndian(buffer[(FixedBytes + partitionLength)..]);
        if (Crc32C.Compute(buffer[..(FixedBytes + partitionLength)]) != expected)
            return ReadStatus.BadChecksum;
        var kind = (SegmentKind)buffer[6];
        var supported = kind switch
        {
            SegmentKind.Log => version == 1,
            SegmentKind.Sealed => version is 1 or 2,
            _ => false,
        };
        if (!supported)
            return ReadStatus.UnsupportedVersion;
        header = new SegmentHeader(
            kind,
            BinaryPrimitives.ReadInt64LittleEndian(buffer[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(buffer[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer[24..]),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer[28..]),
            Encoding.UTF8.GetString(buffer.Slice(FixedBytes, partitionLength)))
        {
            Version = version,
        };
        return ReadStatus.Ok;
    }
}

/// <summary>Constants and file naming of the segment files.</summary>
internal static class SegmentFormat
{
    /// <summary>Log segments: version 1 since the beginning.</summary>
    public const ushort LogVersion = 1;

    /// <summary>Sealed segments: version 2 adds the id index, its fences and the Merkle leaves (version 1 is still read).</summary>
    public const ushort SealedVersion = 2;

    /// <summary>A partition folder name longer than this is cut and suffixed with a hash of the whole key.</summary>
    public const int MaxPartitionDirectoryChars = 120;

    public const string LogExtension = ".log";
    public const string SealedExtension = ".sealed";
    public const string TempExtension = ".tmp";
    public const string CorruptExtension = ".corrupt";
    public const string DroppingPrefix = ".dropping-";

    public static ReadOnlySpan<byte> Magic => "LSEG"u8;

    public static ushort CurrentVersion(SegmentKind kind) => kind == SegmentKind.Sealed ? SealedVersion : LogVersion;

    public static string FileName(uint sequence, SegmentKind kind) =>
        sequence.ToString("D8", System.Globalization.CultureInfo.InvariantCulture) + (kind == SegmentKind.Log ? LogExtension : SealedExtension);

    /// <summary>Bucket folder name: <c>20261126T150000Z</c>.</summary>
    public static string BucketDirectoryName(long bucketTicks) =>
        UnixTicks.ToDateTimeOffset(bucketTicks).UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Partition folder name: the key with every byte outside [A-Za-z0-9._-] (and a leading '.') written as %XX of its
    /// UTF-8. A key whose escaped form would exceed <see cref="MaxPartitionDirectoryChars"/> (a 256-byte source of
    /// spaces or non-ASCII text escapes to 768 characters; file names stop at 255 bytes) keeps its first characters and
    /// gets <c>~</c> and the hex xxHash64 of the whole key: every key the API accepts has a folder, distinct keys get
    /// distinct folders (up to a 64-bit hash collision), and shorter keys keep the names they always had.
    /// The authoritative key is in each segment header.
    /// </summary>
    public static string PartitionDirectoryName(string partition)
    {
        var builder = new StringBuilder(partition.Length + 8);
        var bytes = Encoding.UTF8.GetBytes(partition);
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            var safe = b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_'
                || (b == (byte)'.' && i > 0);
            if (safe)
                builder.Append((char)b);
            else
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        if (builder.Length <= MaxPartitionDirectoryChars)
            return builder.ToString();
        var suffix = "~" + XxHash64.HashToUInt64(bytes).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        var keep = MaxPartitionDirectoryChars - suffix.Length;
        // Never cut an escape in half ('%' only ever starts one).
        if (builder[keep - 1] == '%')
            keep -= 1;
        else if (builder[keep - 2] == '%')
            keep -= 2;
        return builder.ToString(0, keep) + suffix;
    }
}
