using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using LogStream.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogStream.Node.Replication.Hints;

/// <summary>
/// The durable hint log (DESIGN §5): per target node an append-only series of segment files of CRC32C-framed entries
/// (see <see cref="HintFormat"/>), written with group commit (the storage engine's <see cref="GroupCommitter"/>: many
/// concurrent stores share one fdatasync; a lone store starts its own at once), and a durable replay cursor.
/// Replay reads oldest first, delivers a batch, then moves the cursor (one fdatasync) and deletes segments that are
/// wholly behind it; a crash between delivery and cursor re-delivers that batch (at-least-once; records carry ids,
/// so delivery is idempotent). Start-up truncates torn tails, skips and counts corrupt entries, and rebuilds the
/// pending count per target.
/// </summary>
public sealed partial class HintLog : IHintStore, IAsyncDisposable, IDisposable
{
    private readonly HintOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly HintMetrics _metrics;
    private readonly ILogger _logger;
    private readonly GroupCommitter _committer;
    private readonly ConcurrentDictionary<string, TargetLog> _targets = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _openGate = new(1, 1);
    private long _commitRounds;
    private volatile bool _open;
    private volatile bool _disposed;

    public HintLog(string directory, HintOptions options, TimeProvider timeProvider, HintMetrics metrics, ILogger<HintLog>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Directory = Path.GetFullPath(directory);
        _options = options;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger ?? NullLogger<HintLog>.Instance;
        _committer = new GroupCommitter((_, _) => Interlocked.Increment(ref _commitRounds), timeProvider, interval: false, TimeSpan.Zero);
        metrics.Attach(() => Pending);
    }

    /// <summary>The <c>hints</c> folder.</summary>
    public string Directory { get; }

    /// <summary>What start-up recovery found (null before <see cref="OpenAsync"/>).</summary>
    public HintRecoveryReport? Recovery { get; private set; }

    /// <summary>Group commits (rounds of fdatasync) since this instance was created.</summary>
    internal long CommitRounds => Interlocked.Read(ref _commitRounds);

    /// <summary>
    /// Recovers every target's segments and cursor: torn tails truncated, corrupt entries counted and skipped,
    /// delivered leftovers removed, pending counts rebuilt. Idempotent; the other methods call it when needed.
    /// </summary>
    public async Task OpenAsync(CancellationToken cancellationToken = default)
    {
        await _openGate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_open)
                return;
            System.IO.Directory.CreateDirectory(Directory);
            var report = new HintRecoveryReport();
            foreach (var folder in System.IO.Directory.EnumerateDirectories(Directory))
            {
                var id = Path.GetFileName(folder);
                if (!IsValidTargetId(id))
                {
                    LogForeignFolder(folder);
                    continue;
                }
                _targets[id] = RecoverTarget(id, folder, report);
                report.Targets++;
            }
            Recovery = report;
            LogOpened(Directory, report.Targets, report.Segments, report.Pending, report.Truncations, report.CorruptRegions);
            _open = true;
        }
        finally
        {
            _openGate.Release();
        }
    }

    public bool Enabled => _options.Enabled;

    /// <summary>
    /// Stores <paramref name="records"/> for <paramref name="targetNodeId"/> with the current time as their hint time;
    /// returns once they are durable (concurrent calls share one fdatasync). Does nothing when hints are disabled.
    /// </summary>
    /// <exception cref="ArgumentException">The target is not a node id (a DNS label), a record is null or too big.</exception>
    /// <exception cref="IOException">The disk failed; after an fsync failure every later store fails too (restart the node).</exception>
    public async ValueTask StoreAsync(string targetNodeId, IReadOnlyList<LogRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (!_options.Enabled || records.Count == 0)
            return;
        if (!_open)
            await OpenAsync(cancellationToken);
        var target = Target(targetNodeId);
        var count = records.Count;
        var lengths = ArrayPool<int>.Shared.Rent(count);
        byte[]? buffer = null;
        long ticket;
        try
        {
            var total = Layout(records, lengths);
            buffer = ArrayPool<byte>.Shared.Rent(total);
            var hintTicks = UnixTicks.From(_timeProvider.GetUtcNow());
            Encode(records, lengths, buffer, total, hintTicks);
            lock (target.WriteGate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_committer.Failure is { } failure)
                    throw new IOException("The hint log stopped accepting hints after an fsync failure; restart the node.", failure);
                var segment = EnsureActive(target, total);
                segment.Append(buffer.AsSpan(0, total), count, hintTicks);
                ticket = _committer.MarkDirty(segment, count);
                Volatile.Write(ref target.Pending, target.Pending + count);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(lengths);
            if (buffer is not null)
                ArrayPool<byte>.Shared.Return(buffer);
        }
        await _committer.WaitAsync(ticket).WaitAsync(cancellationToken);
        _metrics.Stored(count);
    }

    /// <summary>Records waiting for <paramref name="targetNodeId"/> (not yet delivered, not expired).</summary>
    public long PendingFor(string targetNodeId) =>
        _targets.TryGetValue(targetNodeId, out var target) ? Volatile.Read(ref target.Pending) : 0;

    /// <summary>Every target with records waiting, and how many.</summary>
    public IReadOnlyDictionary<string, long> Pending
    {
        get
        {
            var pending = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (id, target) in _targets)
            {
                var count = Volatile.Read(ref target.Pending);
                if (count > 0)
                    pending[id] = count;
            }
            return pending;
        }
    }

    /// <summary>
    /// Replays one batch: reads up to <paramref name="maxRecords"/> of the target's oldest pending records (skipping and
    /// counting expired ones), hands them to <paramref name="deliver"/>, and only when it returns true makes the new
    /// position durable and deletes the segments wholly behind it. False or an exception keeps every record of the
    /// batch for a later call. Calls for one target run one at a time.
    /// </summary>
    public async Task<HintReplayResult> ReplayAsync(string targetNodeId, int maxRecords,
        Func<IReadOnlyList<LogRecord>, CancellationToken, Task<bool>> deliver, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRecords);
        ArgumentNullException.ThrowIfNull(deliver);
        if (!_open)
            await OpenAsync(cancellationToken);
        if (!_targets.TryGetValue(targetNodeId, out var target))
            return default;
        await target.ReplayGate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var batch = Read(target, maxRecords, CutoffTicks());
            if (batch.Records.Count > 0)
            {
                bool delivered;
                Exception? error = null;
                try
                {
                    delivered = await deliver(batch.Records, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    delivered = false;
                    error = ex;
                }
                if (!delivered)
                    return new HintReplayResult(0, 0, true, error, Volatile.Read(ref target.Pending));
            }
            Complete(target, batch);
            return new HintReplayResult(batch.Records.Count, batch.Expired, false, null, Volatile.Read(ref target.Pending));
        }
        finally
        {
            target.ReplayGate.Release();
        }
    }

    /// <summary>
    /// Drops every target's hints older than the window (by hint time), oldest first up to the first one still
    /// inside it, deleting whole expired segments without reading them. Returns the records dropped.
    /// </summary>
    public async Task<long> ExpireAsync(CancellationToken cancellationToken = default)
    {
        if (!_open)
            await OpenAsync(cancellationToken);
        var cutoff = CutoffTicks();
        long expired = 0;
        foreach (var target in _targets.Values)
        {
            // Most ticks find nothing to expire: tell without reading a byte.
            if (Volatile.Read(ref target.Pending) == 0 || target.OldestHintTicks() >= cutoff)
                continue;
            await target.ReplayGate.WaitAsync(cancellationToken);
            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var batch = Read(target, 0, cutoff);
                if (batch.End != target.Cursor || batch.Finished.Count > 0)
                    Complete(target, batch);
                if (batch.Expired > 0)
                {
                    LogExpired(batch.Expired, target.Id, _options.Window);
                    expired += batch.Expired;
                }
            }
            finally
            {
                target.ReplayGate.Release();
            }
        }
        return expired;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        // Let writers already inside a write gate finish their append, then make everything written durable before
        // closing: a store that got its ticket must not be told "durable" by a round that skipped a closed file.
        foreach (var target in _targets.Values)
        {
            lock (target.WriteGate)
            {
            }
        }
        try
        {
            await _committer.FlushAsync();
        }
        catch (Exception ex)
        {
            LogFlushFailed(ex);
        }
        foreach (var target in _targets.Values)
        {
            await target.ReplayGate.WaitAsync();
            try
            {
                lock (target.WriteGate)
                {
                    foreach (var segment in target.Segments)
                        segment.Retire();
                    target.Segments.Clear();
                    target.Active = null;
                }
                target.CursorFile.Dispose();
            }
            finally
            {
                target.ReplayGate.Release();
            }
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private TargetLog Target(string targetNodeId)
    {
        ArgumentNullException.ThrowIfNull(targetNodeId);
        if (_targets.TryGetValue(targetNodeId, out var target))
            return target;
        if (!IsValidTargetId(targetNodeId))
            throw new ArgumentException($"'{targetNodeId}' is not a node id (a DNS label such as node-1).", nameof(targetNodeId));
        return _targets.GetOrAdd(targetNodeId, id => new TargetLog(id, Path.Combine(Directory, id)));
    }

    /// <summary>Bytes of the framed entries for <paramref name="records"/>; fills their encoded lengths.</summary>
    private static int Layout(IReadOnlyList<LogRecord> records, int[] lengths)
    {
        long total = 0;
        var payload = HintFormat.EntryHeaderBytes;
        var inEntry = 0;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i] ?? throw new ArgumentException($"records[{i}] is null.", nameof(records));
            var length = LogRecordCodec.GetEncodedLength(record);
            if (length > HintFormat.MaxRecordBytes)
                throw new ArgumentException($"records[{i}] (id '{record.Id}') encodes to {length} bytes, more than a hint holds ({HintFormat.MaxRecordBytes}).", nameof(records));
            lengths[i] = length;
            var size = Varint.Size((uint)length) + length;
            if (inEntry > 0 && payload + size > HintFormat.TargetEntryPayload)
            {
                total += Frame.HeaderBytes + payload;
                payload = HintFormat.EntryHeaderBytes;
                inEntry = 0;
            }
            payload += size;
            inEntry++;
        }
        total += Frame.HeaderBytes + payload;
        if (total > int.MaxValue / 2)
            throw new ArgumentException($"{records.Count} records are too many for one store ({total} bytes); store them in smaller batches.", nameof(records));
        return (int)total;
    }

    /// <summary>Encodes the entries exactly as <see cref="Layout"/> cut them.</summary>
    private static void Encode(IReadOnlyList<LogRecord> records, int[] lengths, byte[] buffer, int total, long hintTicks)
    {
        var entryStart = 0;
        var at = entryStart + Frame.HeaderBytes + HintFormat.EntryHeaderBytes;
        var inEntry = 0;
        for (var i = 0; i < records.Count; i++)
        {
            var length = lengths[i];
            var size = Varint.Size((uint)length) + length;
            if (inEntry > 0 && at - entryStart - Frame.HeaderBytes + size > HintFormat.TargetEntryPayload)
            {
                FinishEntry(buffer, entryStart, at, inEntry, hintTicks);
                entryStart = at;
                at = entryStart + Frame.HeaderBytes + HintFormat.EntryHeaderBytes;
                inEntry = 0;
            }
            at += Varint.Write(buffer.AsSpan(at), (uint)length);
            LogRecordCodec.Encode(records[i], buffer.AsSpan(at, length));
            at += length;
            inEntry++;
        }
        FinishEntry(buffer, entryStart, at, inEntry, hintTicks);
        Debug.Assert(at == total, "Layout and Encode cut entries differently.");
    }

    private static void FinishEntry(byte[] buffer, int entryStart, int end, int records, long hintTicks)
    {
        var payloadLength = end - entryStart - Frame.HeaderBytes;
        var payload = buffer.AsSpan(entryStart + Frame.HeaderBytes);
        BinaryPrimitives.WriteInt64LittleEndian(payload, hintTicks);
        BinaryPrimitives.WriteUInt32LittleEndian(payload[8..], (uint)records);
        Frame.WriteHeader(buffer.AsSpan(entryStart, end - entryStart), payloadLength);
    }

    /// <summary>The segment to append <paramref name="bytes"/> to, rolling to a new one past the size limit. Under the write gate.</summary>
    private HintSegment EnsureActive(TargetLog target, int bytes)
    {
        var active = target.Active;
        if (active is not null && !active.Broken && (active.Length == active.HeaderLength || active.Length + bytes <= _options.MaxSegmentBytes))
            return active;
        if (active is not null)
        {
            active.Sealed = true;
            target.Active = null;
        }
        if (!target.DirectoryReady)
        {
            DurableFiles.CreateDirectory(target.Directory);
            target.DirectoryReady = true;
        }
        var sequence = target.NextSequence++;
        var segment = HintSegment.Create(Path.Combine(target.Directory, HintFormat.SegmentFileName(sequence)), sequence, target.Id,
            UnixTicks.From(_timeProvider.GetUtcNow()));
        target.Segments.Add(segment);
        target.Active = segment;
        return segment;
    }

    /// <summary>
    /// Reads from the cursor: expired entries are skipped (counted), then up to <paramref name="maxRecords"/> records
    /// are decoded; with 0 it stops at the first entry still inside the window. Moves nothing. Under the replay gate.
    /// </summary>
    private Batch Read(TargetLog target, int maxRecords, long cutoffTicks)
    {
        var batch = new Batch();
        var position = target.Cursor;
        long taken = 0;
        foreach (var segment in target.SnapshotSegments())
        {
            if (segment.Sequence < position.Sequence)
                continue;
            if (segment.Sequence > position.Sequence)
            {
                position = new HintPosition(segment.Sequence, 0, 0);
                taken = 0;
            }
            var consumedBefore = segment.Sequence == target.Cursor.Sequence ? target.ConsumedInHead : 0;
            var isSealed = segment.Sealed;
            var end = segment.Length;

            // A whole segment past the window: dropped without reading it.
            if (isSealed && segment.LastHintTicks < cutoffTicks)
            {
                batch.Expired += Math.Max(0, segment.Records - consumedBefore);
                batch.Finished.Add(segment);
                position = new HintPosition(segment.Sequence + 1, 0, 0);
                continue;
            }

            var offset = position.Offset == 0 ? segment.HeaderLength : position.Offset;
            var index = position.Index;
            var stopped = false;
            if (!segment.TryAcquire())
                break;
            try
            {
                using var window = new FileWindow(segment.Handle, end);
                while (offset < end)
                {
                    if (segment.SkipAt.TryGetValue(offset, out var skipTo))
                    {
                        offset = skipTo;
                        index = 0;
                        continue;
                    }
                    if (!HintSegment.TryEntryAt(window, offset, end, out var payloadLength, out var hintTicks, out var count))
                    {
                        // Damaged since start-up (bit rot): skip to the next valid entry, once.
                        var next = HintSegment.FindNextEntry(window, offset + 1, end);
                        var resume = next < 0 ? end : next;
                        segment.SkipAt[offset] = resume;
                        _metrics.Corrupt();
                        LogCorruptRegion(segment.Path, offset, resume - offset, "CRC mismatch on read");
                        offset = resume;
                        index = 0;
                        continue;
                    }
                    var entryLength = Frame.HeaderBytes + payloadLength;
                    var remaining = count - Math.Min(index, count);
                    if (hintTicks < cutoffTicks)
                    {
                        batch.Expired += remaining;
                        taken += remaining;
                        offset += entryLength;
                        index = 0;
                        continue;
                    }
                    if (batch.Records.Count >= maxRecords)
                    {
                        stopped = true;
                        break;
                    }
                    var take = Math.Min(remaining, maxRecords - batch.Records.Count);
                    var payload = window.Read(offset + Frame.HeaderBytes, payloadLength).Span;
                    HintFormat.DecodeRecords(payload, index, take, batch.Records);
                    taken += take;
                    index += take;
                    if (index >= count)
                    {
                        offset += entryLength;
                        index = 0;
                    }
                }
            }
            finally
            {
                segment.Release();
            }

            if (!stopped && offset >= end && isSealed)
            {
                batch.Finished.Add(segment);
                position = new HintPosition(segment.Sequence + 1, 0, 0);
                taken = 0;
                continue;
            }
            position = new HintPosition(segment.Sequence, offset, index);
            batch.EndSegment = segment;
            break;
        }
        batch.End = position;
        batch.TakenInEnd = taken;
        return batch;
    }

    /// <summary>
    /// Makes a read batch's end the durable position, then deletes the segments wholly behind it (a drained active
    /// segment too, so a caught-up target keeps no segment file). Under the replay gate.
    /// </summary>
    private void Complete(TargetLog target, Batch batch)
    {
        var end = batch.End;
        var takenInEnd = batch.TakenInEnd;
        if (batch.EndSegment is { } last && end.Index == 0 && (end.Offset == 0 ? last.HeaderLength : end.Offset) == last.Length)
        {
            lock (target.WriteGate)
            {
                if (!last.Sealed && target.Active == last && last.Length == (end.Offset == 0 ? last.HeaderLength : end.Offset))
                {
                    last.Sealed = true;
                    target.Active = null;
                }
            }
            if (last.Sealed && last.Length == (end.Offset == 0 ? last.HeaderLength : end.Offset))
            {
                batch.Finished.Add(last);
                end = new HintPosition(last.Sequence + 1, 0, 0);
                takenInEnd = 0;
            }
        }

        if (end != target.Cursor)
            target.CursorFile.Save(end);

        long consumed = 0;
        foreach (var segment in batch.Finished)
            consumed += segment.Records - (segment.Sequence == target.Cursor.Sequence ? target.ConsumedInHead : 0);
        consumed += takenInEnd;
        var consumedInHead = (end.Sequence == target.Cursor.Sequence ? target.ConsumedInHead : 0) + takenInEnd;
        lock (target.WriteGate)
        {
            foreach (var segment in batch.Finished)
                target.Segments.Remove(segment);
            Volatile.Write(ref target.Pending, Math.Max(0, target.Pending - consumed));
        }
        target.Cursor = end;
        target.ConsumedInHead = consumedInHead;

        foreach (var segment in batch.Finished)
        {
            segment.Retire();
            try
            {
                File.Delete(segment.Path);
            }
            catch (IOException ex)
            {
                // Harmless: start-up deletes every segment behind the durable cursor.
                LogDeleteFailed(segment.Path, ex);
            }
        }
        _metrics.Replayed(batch.Records.Count);
        _metrics.Expired(batch.Expired);
    }

    private TargetLog RecoverTarget(string id, string folder, HintRecoveryReport report)
    {
        var target = new TargetLog(id, folder) { DirectoryReady = true };
        var saved = target.CursorFile.Load();
        if (saved is null && File.Exists(target.CursorFile.Path))
        {
            report.CursorsLost++;
            LogCursorLost(id);
        }

        var files = new List<(uint Sequence, string Path)>();
        foreach (var path in System.IO.Directory.EnumerateFiles(folder, "*" + HintFormat.SegmentExtension))
        {
            if (HintFormat.TryParseSegmentFileName(Path.GetFileName(path), out var sequence))
                files.Add((sequence, path));
        }
        files.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));

        uint highest = 0;
        long total = 0;
        long consumedInHead = 0;
        var headFound = false;
        foreach (var (sequence, path) in files)
        {
            highest = Math.Max(highest, sequence);
            if (saved is { } cursor && sequence < cursor.Sequence)
            {
                // Delivered: the cursor moved past it before the crash, the deletion did not happen.
                File.Delete(path);
                report.DeliveredSegmentsRemoved++;
                continue;
            }

            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            HintSegment segment;
            var result = new HintSegment.RecoveryResult();
            try
            {
                var length = RandomAccess.GetLength(handle);
                var status = HintFormat.TryReadHeader(handle, length, sequence, id, out var headerLength);
                if (status == HintFormat.HeaderStatus.Torn)
                {
                    handle.Dispose();
                    File.Delete(path);
                    report.TornSegmentsRemoved++;
                    LogTornSegmentRemoved(path);
                    continue;
                }
                if (status != HintFormat.HeaderStatus.Ok)
                {
                    handle.Dispose();
                    File.Move(path, path + HintFormat.CorruptExtension, overwrite: true);
                    report.CorruptRegions++;
                    _metrics.Corrupt();
                    LogUnreadableSegment(path, status.ToString());
                    continue;
                }
                segment = HintSegment.Recover(path, sequence, handle, headerLength, length, saved, result);
            }
            catch
            {
                handle.Dispose();
                throw;
            }

            if (result.TruncatedAt >= 0)
            {
                report.Truncations++;
                LogTornTail(path, result.TruncatedAt, result.TruncatedBytes);
            }
            foreach (var (offset, regionLength) in result.CorruptRegions)
            {
                report.CorruptRegions++;
                _metrics.Corrupt();
                LogCorruptRegion(path, offset, regionLength, "CRC mismatch at start-up");
            }
            if (saved is { } head && head.Sequence == sequence)
            {
                headFound = true;
                consumedInHead = result.RecordsBefore;
            }
            report.Segments++;
            total += segment.Records;
            target.Segments.Add(segment);
        }

        target.NextSequence = Math.Max(highest, saved?.Sequence ?? 0) + 1;
        target.Cursor = saved is { } position ? (headFound ? position : new HintPosition(position.Sequence, 0, 0)) : default;
        target.ConsumedInHead = consumedInHead;
        target.Pending = Math.Max(0, total - consumedInHead);
        report.Pending += target.Pending;
        return target;
    }

    private long CutoffTicks() => UnixTicks.From(_timeProvider.GetUtcNow() - _options.Window);

    private static bool IsValidTargetId(string id) => NodeIdPattern().IsMatch(id);

    /// <summary>The node id rule of <see cref="NodeOptions.NodeId"/>: every id is also a safe folder name.</summary>
    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex NodeIdPattern();

    private sealed class TargetLog(string id, string directory)
    {
        public string Id { get; } = id;

        public string Directory { get; } = directory;

        /// <summary>Appends, rotation, and changes to <see cref="Segments"/>, <see cref="Active"/> and <see cref="Pending"/>.</summary>
        public object WriteGate { get; } = new();

        /// <summary>One replay or expiry at a time: owns <see cref="Cursor"/>, <see cref="ConsumedInHead"/> and the cursor file.</summary>
        public SemaphoreSlim ReplayGate { get; } = new(1, 1);

        public List<HintSegment> Segments { get; } = [];

        public HintSegment? Active;
        public uint NextSequence = 1;
        public bool DirectoryReady;
        public long Pending;
        public HintPosition Cursor;

        /// <summary>Records of the cursor's segment before the cursor (delivered or expired).</summary>
        public long ConsumedInHead;

        public HintCursorFile CursorFile { get; } = new(Path.Combine(directory, HintFormat.CursorFileName));

        /// <summary>The earliest hint time still held (of the oldest segment; a lower bound once part of it is consumed).</summary>
        public long OldestHintTicks()
        {
            lock (WriteGate)
                return Segments.Count == 0 ? long.MaxValue : Segments[0].FirstHintTicks;
        }

        public HintSegment[] SnapshotSegments()
        {
            lock (WriteGate)
                return [.. Segments];
        }
    }

    private sealed class Batch
    {
        public List<LogRecord> Records { get; } = [];
        public long Expired;
        public List<HintSegment> Finished { get; } = [];
        public HintPosition End;
        public HintSegment? EndSegment;

        /// <summary>Records consumed (read or expired) in the end position's segment by this batch.</summary>
        public long TakenInEnd;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Hint log opened at {Directory}: {Targets} targets, {Segments} segments, {Pending} hints pending, {Truncations} torn tails truncated, {Corrupt} corrupt regions")]
    private partial void LogOpened(string directory, int targets, int segments, long pending, int truncations, int corrupt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Torn hint tail truncated: {Path} at offset {Offset} ({Bytes} bytes of an unfinished write removed)")]
    private partial void LogTornTail(string path, long offset, long bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Corrupt hints in {Path} at offset {Offset} ({Length} bytes): {Reason}; skipped, repair re-fetches what they held")]
    private partial void LogCorruptRegion(string path, long offset, long length, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Hint segment {Path} is unreadable ({Reason}); moved aside as *.corrupt, repair re-fetches what it held")]
    private partial void LogUnreadableSegment(string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed hint segment {Path}: it was created but never got a durable header")]
    private partial void LogTornSegmentRemoved(string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The replay cursor of {Target} is unreadable; its hints are delivered again from the oldest (delivery is idempotent)")]
    private partial void LogCursorLost(string target);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignoring {Folder} in the hints folder: its name is not a node id")]
    private partial void LogForeignFolder(string folder);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Records} hints for {Target} expired undelivered (stored more than {Window} ago)")]
    private partial void LogExpired(long records, string target, TimeSpan window);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete the delivered hint segment {Path}; start-up removes it")]
    private partial void LogDeleteFailed(string path, Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "Flushing the hint log at shutdown failed")]
    private partial void LogFlushFailed(Exception ex);
}

/// <summary>What one <see cref="HintLog.ReplayAsync"/> call did.</summary>
/// <param name="Delivered">Records delivered and removed.</param>
/// <param name="Expired">Records dropped because they outlived the window.</param>
/// <param name="Failed">The delivery returned false or threw: nothing of the batch was removed.</param>
/// <param name="Error">What the delivery threw, if it did.</param>
/// <param name="Pending">Records still waiting for the target afterwards.</param>
public readonly record struct HintReplayResult(int Delivered, long Expired, bool Failed, Exception? Error, long Pending);

/// <summary>What <see cref="HintLog.OpenAsync"/> found on disk.</summary>
public sealed class HintRecoveryReport
{
    public int Targets { get; internal set; }

    public int Segments { get; internal set; }

    /// <summary>Records waiting, over all targets.</summary>
    public long Pending { get; internal set; }

    /// <summary>Segments whose unfinished last write was cut off.</summary>
    public int Truncations { get; internal set; }

    /// <summary>Damaged entries skipped and unreadable segments moved aside (each also counted in <c>logstream.hints.corrupt</c>).</summary>
    public int CorruptRegions { get; internal set; }

    /// <summary>Segments already behind the durable cursor (a crash came between the cursor write and the deletion).</summary>
    public int DeliveredSegmentsRemoved { get; internal set; }

    /// <summary>Segments whose creation was interrupted before their header was durable (so they held no hint).</summary>
    public int TornSegmentsRemoved { get; internal set; }

    /// <summary>Targets whose cursor file was unreadable: their hints are delivered again from the oldest.</summary>
    public int CursorsLost { get; internal set; }
}
