using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LogStream.Storage;

/// <summary>A record encoded and framed, waiting to be written (offset into the batch's frame buffer).</summary>
internal struct PendingFrame
{
    public int FrameOffset;
    public int PayloadLength;
    public long Ticks;
    public LogSeverity Level;
    /// <summary>Null until asked for (<see cref="EncodedBatch.IdAt"/>): received records never need it as a string.</summary>
    public string? Id;
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

    /// <summary>The Merkle leaves of the records found (content hashes computed from the frames read anyway).</summary>
    public MerkleLeaves Leaves { get; } = new();

    public List<(long Offset, long Length, string? Id)> CorruptRegions { get; } = [];
}

/// <summary>
/// An unsealed segment: a header, then frames (u32 payload length, u32 CRC32C of length and payload, payload).
/// Memory holds 20 bytes per record (<see cref="RecordEntry"/>, in pages); ids and content are read from the file.
/// Appends happen under the bucket's gate; readers see a consistent prefix through the published count.
/// </summary>
internal sealed class LogSegment : Segment
{
    private const int MinPayload = 15;

    /// <summary>Bytes from a frame's start that always hold its id: header, fixed prefix, id length varint, id.</summary>
    private const int IdReadBytes = Frame.HeaderBytes + LogRecordCodec.FixedPrefixBytes + 2 + LogRecord.MaxIdBytes;

    /// <summary>A read ahead that covers a typical frame; bigger frames are read again whole.</summary>
    private const int FrameGuessBytes = 64 * 1024;

    private readonly PagedList<RecordEntry> _entries = new();
    private long _length;
    private long _minTicks = long.MaxValue;
    private long _maxTicks = long.MinValue;
    private long _lastTicks = long.MinValue;
    private volatile bool _inOrder = true;
    private readonly HashSet<string> _sourceSet = new(StringComparer.Ordinal);
    private volatile string[] _sources = [];

    private LogSegment(string path, SegmentHeader header, SafeFileHandle handle, long length)
        : base(path, header, handle)
    {
        _length = length;
    }

    public override bool IsSealed => false;

    public override long RecordCount => _entries.Count;

    public int EntryCount => _entries.Count;

    public override long FileBytes => Volatile.Read(ref _length);

    public override long MinTicks => Volatile.Read(ref _minTicks);

    public override long MaxTicks => Volatile.Read(ref _maxTicks);

    public override long MemoryBytes => _entries.Bytes;

    public override IReadOnlyCollection<string> Sources => _sources;

    /// <summary>Accepts appends (the bucket's active segment).</summary>
    public bool Writable { get; set; }

    public ref readonly RecordEntry EntryAt(int index) => ref _entries[index];

    /// <summary>The last reference is gone (readers included): the entries' native pages go with the handle.</summary>
    protected override void OnLastRelease()
    {
        _entries.Dispose();
        base.OnLastRelease();
    }

    /// <summary>Creates an empty segment: header written and durable, directory entry durable.</summary>
    public static LogSegment Create(string path, SegmentHeader header) =>
        new(path, header, DurableFiles.CreateWithHeader(path, header.ToBytes()), header.Length) { Writable = true };

    /// <summary>
    /// Opens an existing segment and indexes its frames. A bad frame followed by a valid one is a corrupt region
    /// (reported, skipped, kept on disk until the bucket is rewritten); a bad frame with nothing valid after it is a
    /// torn tail, truncated away.
    /// </summary>
    public static LogSegment Recover(string path, SegmentHeader header, SafeFileHandle handle, long fileLength, LogRecoveryResult result, SegmentContext context)
    {
        var segment = new LogSegment(path, header, handle, header.Length);
        using var window = new FileWindow(handle, fileLength, 1024 * 1024);
        var position = (long)header.Length;
        var pending = new PendingFrame[1];
        byte[] lastSource = [];
        var lastSourceString = "";
        while (position < fileLength)
        {
            if (TryFrameAt(window, position, fileLength, out var payloadLength))
            {
                var frame = window.Read(position, Frame.HeaderBytes + payloadLength).Span;
                var payload = frame[Frame.HeaderBytes..];
                EncodedRecord.TryParse(payload, out var view);
                if (!view.Source.SequenceEqual(lastSource))
                {
                    lastSource = view.Source.ToArray();
                    lastSourceString = Encoding.UTF8.GetString(lastSource);
                }
                var idHash = context.IdHash(view.Id);
                pending[0] = new PendingFrame
                {
                    PayloadLength = payloadLength,
                    Ticks = view.UnixTicks,
                    Level = view.Level,
                    Source = lastSourceString,
                    IdHash = idHash,
                };
                segment.Index(pending, position, Frame.HeaderBytes + payloadLength);
                result.Leaves.Add(idHash, LogRecordCodec.ComputeContentHash(payload));
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
        if (at + frames.Length > uint.MaxValue)
            throw new InvalidOperationException("A log segment cannot grow past 4 GiB.");
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
        var last = _lastTicks;
        var inOrder = _inOrder;
        var min = _minTicks;
        var max = _maxTicks;
        for (var i = 0; i < pending.Length; i++)
        {
            ref readonly var p = ref pending[i];
            _entries.Stage(i, new RecordEntry(at + p.FrameOffset, p.Ticks, p.Level, p.IdHash));
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
        _lastTicks = last;
        if (!inOrder)
            _inOrder = false;
        Volatile.Write(ref _minTicks, min);
        Volatile.Write(ref _maxTicks, max);
        Volatile.Write(ref _length, at + offsetBase + bytes);
        _entries.Publish(pending.Length);
    }

    /// <summary>Count and upper time bound captured together: the bound covers every record of the prefix.</summary>
    public (int Count, long MaxTicks) Capture()
    {
        var count = _entries.Count;
        return (count, Volatile.Read(ref _maxTicks));
    }

    /// <summary>
    /// Reads the id bytes of record <paramref name="index"/> from the file into <paramref name="buffer"/> (at least
    /// <see cref="IdReadBytes"/> long); false when the frame does not hold a readable id.
    /// </summary>
    public bool TryReadId(int index, byte[] buffer, out ReadOnlySpan<byte> id)
    {
        id = default;
        var offset = (long)_entries[index].Offset;
        var length = (int)Math.Min(IdReadBytes, FileBytes - offset);
        if (length <= Frame.HeaderBytes)
            return false;
        var read = RandomAccess.Read(Handle, buffer.AsSpan(0, length), offset);
        return read > Frame.HeaderBytes && EncodedRecord.TryReadId(buffer.AsSpan(Frame.HeaderBytes, read - Frame.HeaderBytes), out id);
    }

    public static byte[] NewIdBuffer() => new byte[IdReadBytes];

    public override IEnumerable<Entry> Descending(RecordFilter filter, CorruptionSink corruption) =>
        Descending(filter, corruption, _entries.Count);

    public IEnumerable<Entry> Descending(RecordFilter filter, CorruptionSink corruption, int count)
    {
        var length = FileBytes;
        var inOrder = _inOrder;
        using var window = new FileWindow(Handle, length);
        if (inOrder)
        {
            // Append order is time order: start below ToTicks (binary search) and walk back, lazily, until FromTicks;
            // a run of equal timestamps is put in id order.
            var i = FirstAtOrAbove(filter.ToTicks, count) - 1;
            while (i >= 0)
            {
                var ticks = _entries[i].Ticks;
                if (ticks < filter.FromTicks)
                    yield break;
                var j = i;
                while (j > 0 && _entries[j - 1].Ticks == ticks)
                    j--;
                if (i == j)
                {
                    if (filter.MatchesLevel(_entries[i].Level) && TryRead(window, i, count, length, filter, corruption, out var entry, backward: true))
                        yield return entry;
                }
                else
                {
                    var run = new int[i - j + 1];
                    for (var k = 0; k < run.Length; k++)
                        run[k] = j + k;
                    SortRunById(run, 0, run.Length, window, count, length, descending: true);
                    foreach (var index in run)
                    {
                        if (filter.MatchesLevel(_entries[index].Level) && TryRead(window, index, count, length, filter, corruption, out var entry, backward: true))
                            yield return entry;
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
            ref readonly var e = ref _entries[i];
            if (filter.MatchesHeader(e.Ticks, e.Level))
                candidates.Add(i);
        }
        var order = SortByTicks(candidates, descending: true);
        OrderTies(order, window, count, length, descending: true);
        foreach (var index in order)
        {
            if (TryRead(window, index, count, length, filter, corruption, out var entry, backward: true))
                yield return entry;
        }
    }

    /// <summary>In an in-order segment: the first position whose timestamp is at or above <paramref name="ticks"/>.</summary>
    private int FirstAtOrAbove(long ticks, int count)
    {
        int lo = 0, hi = count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_entries[mid].Ticks < ticks)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

    public override IEnumerable<Entry> Ascending(CorruptionSink corruption)
    {
        var count = _entries.Count;
        var length = FileBytes;
        using var window = new FileWindow(Handle, length, 1024 * 1024);
        var all = new List<int>(count);
        for (var i = 0; i < count; i++)
            all.Add(i);
        var order = _inOrder ? [.. all] : SortByTicks(all, descending: false);
        OrderTies(order, window, count, length, descending: false);
        foreach (var index in order)
        {
            if (TryRead(window, index, count, length, RecordFilter.All, corruption, out var entry))
                yield return entry;
        }
    }

    public override IEnumerable<Entry> StorageOrder(IReadOnlySet<ulong>? idHashes, CorruptionSink corruption)
    {
        var count = _entries.Count;
        var length = FileBytes;
        using var window = new FileWindow(Handle, length, 1024 * 1024);
        for (var i = 0; i < count; i++)
        {
            if (idHashes is not null && !idHashes.Contains(_entries[i].IdHash))
                continue;
            if (TryRead(window, i, count, length, RecordFilter.All, corruption, out var entry))
                yield return entry;
        }
    }

    public override IEnumerable<RecordDigest> Digests(Func<int, bool>? leafFilter, CorruptionSink corruption)
    {
        var count = _entries.Count;
        var length = FileBytes;
        using var window = new FileWindow(Handle, length, 1024 * 1024);
        for (var i = 0; i < count; i++)
        {
            var idHash = _entries[i].IdHash;
            if (leafFilter is not null && !leafFilter(MerkleLeaves.LeafOf(idHash)))
                continue;
            if (TryReadPayload(window, i, count, length, corruption, out var payload))
                yield return new RecordDigest(idHash, LogRecordCodec.ComputeContentHash(payload.Span));
        }
    }

    public override long Count(RecordFilter filter, CorruptionSink corruption)
    {
        var count = _entries.Count;
        long matches = 0;
        if (filter.HeaderOnly)
        {
            for (var i = 0; i < count; i++)
            {
                ref readonly var e = ref _entries[i];
                if (filter.MatchesHeader(e.Ticks, e.Level))
                    matches++;
            }
            return matches;
        }
        var length = FileBytes;
        using var window = new FileWindow(Handle, length, 1024 * 1024);
        for (var i = 0; i < count; i++)
        {
            ref readonly var e = ref _entries[i];
            if (filter.MatchesHeader(e.Ticks, e.Level) && TryRead(window, i, count, length, filter, corruption, out _))
                matches++;
        }
        return matches;
    }

    /// <summary>Positions sorted by timestamp (a primitive-key sort; ties are put in id order by <see cref="OrderTies"/>).</summary>
    private int[] SortByTicks(List<int> positions, bool descending)
    {
        var keys = new long[positions.Count];
        var items = positions.ToArray();
        for (var k = 0; k < items.Length; k++)
            keys[k] = descending ? -_entries[items[k]].Ticks : _entries[items[k]].Ticks;
        Array.Sort(keys, items);
        return items;
    }

    /// <summary>
    /// Puts each run of equal timestamps of positions already sorted by timestamp in id order (ordinal, descending or
    /// ascending), reading the ids of those records only: the total order replicas agree on.
    /// </summary>
    private void OrderTies(int[] order, FileWindow window, int count, long length, bool descending)
    {
        var i = 0;
        while (i < order.Length)
        {
            var ticks = _entries[order[i]].Ticks;
            var j = i + 1;
            while (j < order.Length && _entries[order[j]].Ticks == ticks)
                j++;
            if (j - i > 1)
                SortRunById(order, i, j - i, window, count, length, descending);
            i = j;
        }
    }

    private void SortRunById(int[] positions, int start, int length, FileWindow window, int count, long fileLength, bool descending)
    {
        var ids = new string[length];
        var run = positions.AsSpan(start, length).ToArray();
        for (var k = 0; k < length; k++)
            ids[k] = ReadIdString(window, run[k], count, fileLength) ?? "";
        Array.Sort(ids, run, StringComparer.Ordinal);
        if (descending)
            Array.Reverse(run);
        run.CopyTo(positions, start);
    }

    private string? ReadIdString(FileWindow window, int index, int count, long length)
    {
        if (!TryFrame(window, index, count, length, out var frame, out _, backward: false))
            return null;
        return EncodedRecord.TryReadId(frame.Span[Frame.HeaderBytes..], out var id) ? Encoding.UTF8.GetString(id) : null;
    }

    /// <summary>The frame of record <paramref name="index"/>: bounded by the next record's offset (or the length), its
    /// header within bounds. False (nothing reported) when the header is off.</summary>
    private bool TryFrame(FileWindow window, int index, int count, long length, out ReadOnlyMemory<byte> frame, out int payloadLength, bool backward)
    {
        frame = default;
        var offset = (long)_entries[index].Offset;
        var end = index + 1 < count ? _entries[index + 1].Offset : length;
        payloadLength = 0;
        if (end - offset < Frame.HeaderBytes + MinPayload)
            return false;
        var head = window.Read(offset, (int)Math.Min(end - offset, FrameGuessBytes), backward).Span;
        payloadLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(head);
        if (payloadLength < MinPayload || payloadLength > Frame.MaxPayload || offset + Frame.HeaderBytes + payloadLength > end)
            return false;
        frame = window.Read(offset, Frame.HeaderBytes + payloadLength, backward);
        return true;
    }

    private bool TryReadPayload(FileWindow window, int index, int count, long length, CorruptionSink corruption, out ReadOnlyMemory<byte> payload, bool backward = false)
    {
        payload = default;
        if (!TryFrame(window, index, count, length, out var frame, out var payloadLength, backward)
            || !Frame.ChecksumMatches(frame.Span, payloadLength))
        {
            ReportCorrupt(window, index, count, length, corruption);
            return false;
        }
        payload = frame[Frame.HeaderBytes..];
        return true;
    }

    /// <param name="backward">The caller walks towards the start of the file: load windows that end at the frame.</param>
    private bool TryRead(FileWindow window, int index, int count, long length, RecordFilter filter, CorruptionSink corruption, out Entry entry, bool backward = false)
    {
        entry = default;
        if (!TryReadPayload(window, index, count, length, corruption, out var payload, backward))
            return false;
        if (!filter.Matches(payload.Span))
            return false;
        EncodedRecord.TryReadId(payload.Span, out var id);
        entry = new Entry(payload, _entries[index].Ticks, Encoding.UTF8.GetString(id));
        return true;
    }

    private void ReportCorrupt(FileWindow window, int index, int count, long length, CorruptionSink corruption)
    {
        var offset = (long)_entries[index].Offset;
        var end = index + 1 < count ? _entries[index + 1].Offset : length;
        string? id = null;
        try
        {
            id = TryReadLostId(window, offset, end);
        }
        catch (EndOfStreamException)
        {
            // The id is a courtesy for the report.
        }
        corruption(this, offset, end - offset, [_entries[index].IdHash], id, "CRC mismatch on read");
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
