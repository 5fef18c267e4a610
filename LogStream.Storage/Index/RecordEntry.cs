using System.Runtime.InteropServices;

namespace LogStream.Storage;

/// <summary>
/// What memory holds of one record of a log segment: 20 bytes, no reference. Where its frame starts, its timestamp and
/// level (queries filter on them without touching the disk) and its id hash (the id table and digests need it). The
/// id itself, the content hash and the payload length are read from the frame when needed.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct RecordEntry
{
    /// <summary>File offset of the frame (log segments never exceed 4 GiB).</summary>
    public uint Offset;

    /// <summary>Unix ticks shifted left by 3, the level in the low 3 bits.</summary>
    public long TicksLevel;

    /// <summary><see cref="RecordIdHash"/> of the id.</summary>
    public ulong IdHash;

    public RecordEntry(long offset, long ticks, LogSeverity level, ulong idHash)
    {
        Offset = checked((uint)offset);
        TicksLevel = (ticks << 3) | (long)level;
        IdHash = idHash;
    }

    public readonly long Ticks => TicksLevel >> 3;

    public readonly LogSeverity Level => (LogSeverity)(TicksLevel & 7);
}
