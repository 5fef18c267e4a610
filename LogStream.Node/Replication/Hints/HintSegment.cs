using System.Buffers.Binary;
using LogStream.Storage;
using Microsoft.Win32.SafeHandles;

namespace LogStream.Node.Replication.Hints;

/// <summary>
/// One segment file of a target's hints. Appends happen under the target's write gate and publish the new length
/// last, so a reader sees whole entries only. Reference counted (the storage file layer's <see cref="RefCountedFile"/>):
/// the group committer and a reader hold it while a delivered segment is retired and deleted.
/// </summary>
internal sealed class HintSegment : RefCountedFile
{
    private long _length;
    private long _records;
    private long _firstHintTicks = long.MaxValue;
    private long _lastHintTicks = long.MinValue;
    private volatile bool _sealed;

    private HintSegment(string path, uint sequence, SafeFileHandle handle, int headerLength, long length)
        : base(path, handle)
    {
        Sequence = sequence;
        HeaderLength = headerLength;
        _length = length;
    }

    public uint Sequence { get; }

    public int HeaderLength { get; }

    /// <summary>Bytes of whole entries written (published after each append).</summary>
    public long Length => Volatile.Read(ref _length);

    /// <summary>Records in the entries known to be valid.</summary>
    public long Records => Volatile.Read(ref _records);

    /// <summary>Earliest hint time of its entries (ticks since the Unix epoch); <see cref="long.MaxValue"/> when empty.</summary>
    public long FirstHintTicks => Volatile.Read(ref _firstHintTicks);

    /// <summary>Latest hint time of its entries (ticks since the Unix epoch); <see cref="long.MinValue"/> when empty.</summary>
    public long LastHintTicks => Volatile.Read(ref _lastHintTicks);

    /// <summary>No more appends: <see cref="Length"/> is final. Set under the write gate after the last append.</summary>
    public bool Sealed
    {
        get => _sealed;
        set => _sealed = value;
    }

    /// <summary>An append failed and could not be undone: the writer moves on to a new segment.</summary>
    public bool Broken { get; private set; }

    /// <summary>Damaged regions found (offset of the first bad byte → offset of the next valid entry, or the end).</summary>
    public Dictionary<long, long> SkipAt { get; } = [];

    /// <summary>Creates an empty segment: header written and durable, directory entry durable.</summary>
    public static HintSegment Create(string path, uint sequence, string target, long createdTicks)
    {
        var header = HintFormat.Header(sequence, target, createdTicks);
        return new HintSegment(path, sequence, DurableFiles.CreateWithHeader(path, header), header.Length, header.Length);
    }

    /// <summary>What <see cref="Recover"/> found in one segment.</summary>
    public sealed class RecoveryResult
    {
        public long TruncatedAt = -1;
        public long TruncatedBytes;
        public long Entries;
        public List<(long Offset, long Length)> CorruptRegions { get; } = [];

        /// <summary>Records before <c>position</c> (the cursor), when the cursor points into this segment.</summary>
        public long RecordsBefore;
    }

    /// <summary>
    /// Opens an existing segment (header already checked) and scans its entries: a bad entry followed by a valid one is
    /// a corrupt region (skipped, reported); a bad entry with nothing valid after it is a torn tail, truncated away.
    /// Counts the records before <paramref name="cursor"/> when it points into this segment.
    /// </summary>
    public static HintSegment Recover(string path, uint sequence, SafeFileHandle handle, int headerLength, long fileLength,
        HintPosition? cursor, RecoveryResult result)
    {
        var segment = new HintSegment(path, sequence, handle, headerLength, headerLength) { Sealed = true };
        var cursorOffset = cursor is { } c && c.Sequence == sequence && c.Offset > 0 ? c.Offset : -1;
        using var window = new FileWindow(handle, fileLength, 1024 * 1024);
        var position = (long)headerLength;
        while (position < fileLength)
        {
            if (TryEntryAt(window, position, fileLength, out var payloadLength, out var hintTicks, out var count))
            {
                segment._records += count;
                segment._firstHintTicks = Math.Min(segment._firstHintTicks, hintTicks);
                segment._lastHintTicks = Math.Max(segment._lastHintTicks, hintTicks);
                result.Entries++;
                if (cursorOffset > position)
                    result.RecordsBefore += count;
                else if (cursorOffset == position)
                    result.RecordsBefore += Math.Min(count, cursor!.Value.Index);
                position += Frame.HeaderBytes + payloadLength;
                continue;
            }

            var next = FindNextEntry(window, position + 1, fileLength);
            if (next < 0)
            {
                result.TruncatedAt = position;
                result.TruncatedBytes = fileLength - position;
                break;
            }
            result.CorruptRegions.Add((position, next - position));
            segment.SkipAt[position] = next;
            // A cursor inside the damaged bytes resumes at the next valid entry too.
            if (cursorOffset > position && cursorOffset < next)
                segment.SkipAt[cursorOffset] = next;
            position = next;
        }

        if (result.TruncatedAt >= 0)
        {
            RandomAccess.SetLength(handle, result.TruncatedAt);
            FileSync.FlushData(handle);
        }
        segment._length = result.TruncatedAt >= 0 ? result.TruncatedAt : fileLength;
        return segment;
    }

    /// <summary>Writes whole framed entries at the end of the file. Caller holds the target's write gate.</summary>
    public void Append(ReadOnlySpan<byte> entries, int records, long hintTicks)
    {
        var at = _length;
        try
        {
            RandomAccess.Write(Handle, entries, at);
        }
        catch
        {
            // Cut a partial write so the next entry starts where the length says; if even that fails, stop appending
            // here (recovery treats the garbage as a torn tail).
            try
            {
                RandomAccess.SetLength(Handle, at);
            }
            catch (IOException)
            {
                Broken = true;
            }
            throw;
        }
        Volatile.Write(ref _records, _records + records);
        if (hintTicks < _firstHintTicks)
            Volatile.Write(ref _firstHintTicks, hintTicks);
        if (hintTicks > _lastHintTicks)
            Volatile.Write(ref _lastHintTicks, hintTicks);
        Volatile.Write(ref _length, at + entries.Length);
    }

    /// <summary>A whole, checked entry at <paramref name="position"/> (frame header included), within <paramref name="end"/>.</summary>
    public static bool TryEntryAt(FileWindow window, long position, long end, out int payloadLength, out long hintTicks, out int count)
    {
        payloadLength = 0;
        hintTicks = 0;
        count = 0;
        if (end - position < Frame.HeaderBytes + HintFormat.MinEntryPayload)
            return false;
        var length = BinaryPrimitives.ReadUInt32LittleEndian(window.Read(position, 4).Span);
        if (length < HintFormat.MinEntryPayload || length > Frame.MaxPayload || position + Frame.HeaderBytes + length > end)
            return false;
        var frame = window.Read(position, Frame.HeaderBytes + (int)length).Span;
        if (!Frame.ChecksumMatches(frame, (int)length)
            || !HintFormat.TryParseEntry(frame[Frame.HeaderBytes..], out hintTicks, out count))
            return false;
        payloadLength = (int)length;
        return true;
    }

    /// <summary>The next offset at or after <paramref name="from"/> where a valid entry starts; -1 when none.</summary>
    public static long FindNextEntry(FileWindow window, long from, long end)
    {
        for (var p = from; p + Frame.HeaderBytes + HintFormat.MinEntryPayload <= end; p++)
        {
            if (TryEntryAt(window, p, end, out _, out _, out _))
                return p;
        }
        return -1;
    }
}

/// <summary>
/// The durable replay position of one target: two checksummed slots written alternately and fdatasynced, so a write
/// torn by a crash leaves the previous position intact (which re-delivers one batch: at-least-once, never at-most-once).
/// </summary>
internal sealed class HintCursorFile(string path) : IDisposable
{
    private SafeFileHandle? _handle;
    private ulong _generation;

    public string Path { get; } = path;

    /// <summary>The newest valid position; null when the file is missing or both slots are damaged.</summary>
    public HintPosition? Load()
    {
        if (!File.Exists(Path))
            return null;
        var bytes = File.ReadAllBytes(Path);
        HintPosition? best = null;
        for (var slot = 0; slot < 2; slot++)
        {
            var start = slot * HintFormat.CursorSlotStride;
            if (bytes.Length < start + HintFormat.CursorSlotBytes)
                continue;
            if (HintFormat.TryReadCursorSlot(bytes.AsSpan(start, HintFormat.CursorSlotBytes), out var generation, out var position)
                && (best is null || generation > _generation))
            {
                best = position;
                _generation = generation;
            }
        }
        return best;
    }

    /// <summary>Makes <paramref name="position"/> the durable position (one fdatasync; creates the file the first time).</summary>
    public void Save(HintPosition position)
    {
        if (_handle is null)
        {
            var created = !File.Exists(Path);
            _handle = File.OpenHandle(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            if (created)
                FileSync.FlushDirectory(System.IO.Path.GetDirectoryName(Path)!);
        }
        var generation = _generation + 1;
        Span<byte> slot = stackalloc byte[HintFormat.CursorSlotBytes];
        HintFormat.WriteCursorSlot(slot, generation, position);
        RandomAccess.Write(_handle, slot, (long)(generation % 2) * HintFormat.CursorSlotStride);
        FileSync.FlushData(_handle);
        _generation = generation;
    }

    public void Dispose()
    {
        _handle?.Dispose();
        _handle = null;
    }
}
