using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LogStream.Storage;

/// <summary>Where one record of an unsealed segment lives, kept in memory so reads filter without touching the disk.</summary>
internal struct FrameRef
{
    public long Ticks;
    public long Offset;
    public int PayloadLength;
    public LogSeverity Level;
    public string Id;
}

/// <summary>A record encoded and framed, waiting to be written (offset into the batch's frame buffer).</summary>
internal struct PendingFrame
{
    public int FrameOffset;
    public int PayloadLength;
    public long Ticks;
    public LogSeverity Level;
    public string Id;
    public string Source;
    public ulong ContentHash;

    /// <summary>Set by the store when the record is new to its bucket (<see cref="RecordIdHash"/>).</summary>
    public ulong IdHash;
}

/// <summary>What recovery of one log segment found.</summary>
internal sealed class LogRecoveryResult
{
    public long TruncatedAt = -1;
    public long TruncatedBytes;
    public List<RecordDigest> Digests { get; } = [];
    public List<(long Offset, long Length, string? Id)> CorruptRegions { get; } = [];
}

/// <summary>
/// An unsealed segment: a header, then frames (u32 payload length, u32 CRC32C of length and payload, payload).
/// Appends happen under the bucket's gate; readers see a consistent prefix through the published count.
/// </summary>
internal sealed class LogSegment : Segment, IGroupCommitFile
{
    private const int MinPayload = 15;

    private FrameRef[] _refs = new FrameRef[256];
    private int _count;
    private long _length;
    private long _minTicks = long.MaxValue;
    private long _maxTicks = long.MinValue;
    private volatile bool _inOrder = true;
    private readonly HashSet<string> _sourceSet = new(StringComparer.Ordinal);
    private volatile string[] _sources = [];

    private LogSegment(string path, SegmentHeader header, SafeFileHandle handle, long length)
        : base(path, header, handle)
    {
        _length = length;
    }

    public override bool IsSealed => false;

    public override long RecordCount => Volatile.Read(ref _count);

    public override long FileBytes => Volatile.Read(ref _length);

    public override long MinTicks => Volatile.Read(ref _minTicks);

    public override long MaxTicks => Volatile.Read(ref _maxTicks);

    public override IReadOnlyCollection<string> Sources => _sources;

    /// <summary>Accepts appends (the bucket's active segment).</summary>
    public bool Writable { get; set; }

    /// <summary>Creates an empty segment: header written and durable, directory entry durable.</summary>
    public static LogSegment Create(string path, SegmentHeader header)
    {
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        try
        {
            var bytes = header.ToBytes();
            RandomAccess.Write(handle, bytes, 0);
            FileSync.FlushData(handle);
            FileSync.FlushDirectory(System.IO.Path.GetDirectoryName(path)!);
            return new LogSegment(path, header, handle, bytes.Length) { Writable = true };
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens an existing segment and indexes its frames. A bad frame followed by a valid one is a corrupt region
    /// (reported, skipped, kept on disk until the bucket is rewritten); a bad frame with nothing valid after it is a
    /// torn tail, truncated away.
    /// </summary>
    public static LogSegment Recover(string path, SegmentHeader header, SafeFileHandle handle, long fileLength, LogRecoveryResult result)
    {
        var segment = new LogSegment(path, header, handle, header.Length);
        using var window = new FileWindow(handle, fileLength, 1024 * 1024);
        var position = (long)header.Length;
        var pending = new PendingFrame[1];
        while (position < fileLength)
        {
            if (TryFrameAt(window, position, fileLength, out var payloadLength))
            {
                var frame = window.Read(position, Frame.HeaderBytes + payloadLength).Span;
                var payload = frame[Frame.HeaderBytes..];
                EncodedRecord.TryParse(payload, out var view);
                pending[0] = new PendingFrame
                {
                    FrameOffset = 0,
                    PayloadLength = payloadLength,
                    Ticks = view.UnixTicks,
                    Level = view.Level,
                    Id = view.IdString(),
                    Source = Encoding.UTF8.GetString(view.Source),
                    ContentHash = LogRecordCodec.ComputeContentHash(payload),
                    IdHash = RecordIdHash.Of(view.Id),
                };
                segment.Index(pending, position, Frame.HeaderBytes + payloadLength);
                result.Digests.Add(new RecordDigest(pending[0].Id, pending[0].ContentHash, payloadLength, pending[0].IdHash));
                position += Frame.HeaderBytes + payloadLength;
                continue;
            }

            var next = FindNextFrame(window, position + 1, fileLength);
            if (next < 0)
            {
                result.TruncatedAt = position;
                result.TruncatedBytes = fileLength - position;
                break;
            }
            result.CorruptRegions.Add((position, next - position, TryReadLostId(window, position, next)));
            position = next;
            segment._length = position;
        }

        if (result.TruncatedAt >= 0)
        {
            RandomAccess.SetLength(handle, result.TruncatedAt);
            FileSync.FlushData(handle);
        }
        segment._length = result.TruncatedAt >= 0 ? result.TruncatedAt : fileLength;
        return segment;
    }

    /// <summary>Writes framed records at the end of the file and indexes them. Caller holds the bucket's gate.</summary>
    /// <param name="offsetBase">Subtracted from each <see cref="PendingFrame.FrameOffset"/> (frames sliced from a bigger buffer).</param>
    public void Append(ReadOnlySpan<byte> frames, ReadOnlySpan<PendingFrame> pending, int offsetBase = 0)
    {
        var at = _length;
        try
        {
            RandomAccess.Write(Handle, frames, at);
        }
        catch
        {
            // Cut a partial write so the next frame starts where the index thinks; if even that fails, stop appending
            // here (recovery will treat the garbage as a torn tail).
            try
            {
                RandomAccess.SetLength(Handle, at);
            }
            catch (IOException)
            {
                Writable = false;
            }
            throw;
        }
        Index(pending, at - offsetBase, frames.Length, offsetBase);
    }

    private void Index(ReadOnlySpan<PendingFrame> pending, long at, int bytes, int offsetBase = 0)
    {
        var count = _count;
        if (count + pending.Length > _refs.Length)
        {
            var grown = new FrameRef[Math.Max(_refs.Length * 2, count + pending.Length)];
            Array.Copy(_refs, grown, count);
            Volatile.Write(ref _refs, grown);
        }
        var refs = _refs;
        var last = count > 0 ? refs[count - 1].Ticks : long.MinValue;
        var inOrder = _inOrder;
        var min = _minTicks;
        var max = _maxTicks;
        for (var i = 0; i < pending.Length; i++)
        {
            ref readonly var p = ref pending[i];
            refs[count + i] = new FrameRef { Ticks = p.Ticks, Offset = at + p.FrameOffset, PayloadLength = p.PayloadLength, Level = p.Level, Id = p.Id };
            if (p.Ticks < last)
                inOrder = false;
            last = p.Ticks;
            min = Math.Min(min, p.Ticks);
            max = Math.Max(max, p.Ticks);
            if (!_sourceSet.Contains(p.Source))
            {
                _sourceSet.Add(p.Source);
                _sources = [.. _sourceSet];
            }
        }
        if (!inOrder)
            _inOrder = false;
        Volatile.Write(ref _minTicks, min);
        Volatile.Write(ref _maxTicks, max);
        Volatile.Write(ref _length, at + offsetBase + bytes);
        Volatile.Write(ref _count, count + pending.Length);
    }

    public void Flush() => FileSync.FlushData(Handle);

    /// <summary>Count and upper time bound captured together: the bound covers every record of the prefix.</summary>
    public (int Count, long MaxTicks) Capture()
    {
        var count = Volatile.Read(ref _count);
        return (count, Volatile.Read(ref _maxTicks));
    }

    public override IEnumerable<Entry> Descending(RecordFilter filter, CorruptionSink corruption) =>
        Descending(filter, corruption, Volatile.Read(ref _count));

    public IEnumerable<Entry> Descending(RecordFilter filter, CorruptionSink corruption, int count)
    {
        var refs = Volatile.Read(ref _refs);
        var inOrder = _inOrder;
        using var window = new FileWindow(Handle, FileBytes);
        if (inOrder)
        {
            // Append order is time order: walk back from the end; records with equal ticks are put in id order.
            var i = count - 1;
            while (i >= 0)
            {
                var ticks = refs[i].Ticks;
                if (ticks < filter.FromTicks)
                    yield break;
                var j = i;
                while (j > 0 && refs[j - 1].Ticks == ticks)
                    j--;
                if (ticks < filter.ToTicks)
                {
                    if (i == j)
                    {
                        if (filter.MatchesLevel(refs[i].Level) && TryRead(window, refs[i], filter, corruption, out var entry, backward: true))
                            yield return entry;
                    }
                    else
                    {
                        var run = new int[i - j + 1];
                        for (var k = 0; k < run.Length; k++)
                            run[k] = j + k;
                        Array.Sort(run, (a, b) => string.CompareOrdinal(refs[b].Id, refs[a].Id));
                        foreach (var index in run)
                        {
                            if (filter.MatchesLevel(refs[index].Level) && TryRead(window, refs[index], filter, corruption, out var entry, backward: true))
                                yield return entry;
                        }
                    }
                }
                i = j - 1;
            }
            yield break;
        }

        // Out of order (late records): sort the positions that pass the in-memory filters, newest first.
        var candidates = new List<int>();
        for (var i = 0; i < count; i++)
        {
            if (filter.MatchesHeader(refs[i].Ticks, refs[i].Level))
                candidates.Add(i);
        }
        candidates.Sort((a, b) => refs[a].Ticks != refs[b].Ticks ? refs[b].Ticks.CompareTo(refs[a].Ticks) : string.CompareOrdinal(refs[b].Id, refs[a].Id));
        foreach (var index in candidates)
        {
            if (TryRead(window, refs[index], filter, corruption, out var entry, backward: true))
                yield return entry;
        }
    }

    public override IEnumerable<Entry> Ascending(CorruptionSink corruption)
    {
        var count = Volatile.Read(ref _count);
        var refs = Volatile.Read(ref _refs);
        var order = new int[count];
        for (var i = 0; i < count; i++)
            order[i] = i;
        Array.Sort(order, (a, b) => refs[a].Ticks != refs[b].Ticks ? refs[a].Ticks.CompareTo(refs[b].Ticks) : string.CompareOrdinal(refs[a].Id, refs[b].Id));
        using var window = new FileWindow(Handle, FileBytes, 1024 * 1024);
        foreach (var index in order)
        {
            if (TryRead(window, refs[index], RecordFilter.All, corruption, out var entry))
                yield return entry;
        }
    }

    public override IEnumerable<Entry> StorageOrder(IdSet? ids, CorruptionSink corruption)
    {
        var count = Volatile.Read(ref _count);
        var refs = Volatile.Read(ref _refs);
        using var window = new FileWindow(Handle, FileBytes, 1024 * 1024);
        for (var i = 0; i < count; i++)
        {
            if (ids is not null && !ids.Contains(refs[i].Id))
                continue;
            if (TryRead(window, refs[i], RecordFilter.All, corruption, out var entry))
                yield return entry;
        }
    }

    public override long Count(RecordFilter filter, CorruptionSink corruption)
    {
        var count = Volatile.Read(ref _count);
        var refs = Volatile.Read(ref _refs);
        long matches = 0;
        if (filter.HeaderOnly)
        {
            for (var i = 0; i < count; i++)
            {
                if (filter.MatchesHeader(refs[i].Ticks, refs[i].Level))
                    matches++;
            }
            return matches;
        }
        using var window = new FileWindow(Handle, FileBytes, 1024 * 1024);
        for (var i = 0; i < count; i++)
        {
            if (filter.MatchesHeader(refs[i].Ticks, refs[i].Level) && TryRead(window, refs[i], filter, corruption, out _))
                matches++;
        }
        return matches;
    }

    /// <summary>The frame refs of the published prefix (for rewrites and digests).</summary>
    public ReadOnlySpan<FrameRef> Refs => Volatile.Read(ref _refs).AsSpan(0, Volatile.Read(ref _count));

    /// <param name="backward">The caller walks towards the start of the file: load windows that end at the frame.</param>
    private bool TryRead(FileWindow window, in FrameRef frameRef, RecordFilter filter, CorruptionSink corruption, out Entry entry, bool backward = false)
    {
        entry = default;
        var frameLength = Frame.HeaderBytes + frameRef.PayloadLength;
        var frame = window.Read(frameRef.Offset, frameLength, backward);
        if (BinaryPrimitives.ReadUInt32LittleEndian(frame.Span) != (uint)frameRef.PayloadLength
            || !Frame.ChecksumMatches(frame.Span, frameRef.PayloadLength))
        {
            corruption(this, frameRef.Offset, frameLength, frameRef.Id, "CRC mismatch on read");
            return false;
        }
        var payload = frame[Frame.HeaderBytes..];
        if (!filter.Matches(payload.Span))
            return false;
        entry = new Entry(payload, frameRef.Ticks, frameRef.Id);
        return true;
    }

    private static bool TryFrameAt(FileWindow window, long position, long fileLength, out int payloadLength)
    {
        payloadLength = 0;
        if (fileLength - position < Frame.HeaderBytes + MinPayload)
            return false;
        var length = BinaryPrimitives.ReadUInt32LittleEndian(window.Read(position, 4).Span);
        if (length < MinPayload || length > Frame.MaxPayload || position + Frame.HeaderBytes + length > fileLength)
            return false;
        var frame = window.Read(position, Frame.HeaderBytes + (int)length).Span;
        if (!Frame.ChecksumMatches(frame, (int)length) || !EncodedRecord.TryParse(frame[Frame.HeaderBytes..], out _))
            return false;
        payloadLength = (int)length;
        return true;
    }

    private static long FindNextFrame(FileWindow window, long from, long fileLength)
    {
        for (var p = from; p + Frame.HeaderBytes + MinPayload <= fileLength; p++)
        {
            if (TryFrameAt(window, p, fileLength, out _))
                return p;
        }
        return -1;
    }

    /// <summary>The id of a damaged frame, when its length and id bytes still look sound (best effort).</summary>
    private static string? TryReadLostId(FileWindow window, long position, long next)
    {
        var available = (int)Math.Min(next - position, 4096);
        if (available <= Frame.HeaderBytes + LogRecordCodec.FixedPrefixBytes)
            return null;
        var bytes = window.Read(position, available).Span[Frame.HeaderBytes..];
        if (!EncodedRecord.TryReadId(bytes, out var id))
            return null;
        try
        {
            return LogRecord.StrictUtf8.GetString(id);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
