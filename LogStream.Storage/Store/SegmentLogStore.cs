using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;

namespace LogStream.Storage;

/// <summary>
/// The segment store: per (partition, bucket) a folder of append-only <c>*.log</c> segments and, once the bucket's
/// window has passed, one compressed, indexed <c>*.sealed</c> segment (plus <c>*.log</c> ones for late records).
/// See docs/storage.md for the design and docs/storage-format.md for the bytes.
/// </summary>
public sealed partial class SegmentLogStore : ILogStore, IAsyncDisposable, IDisposable
{
    private readonly StorageOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly StorageMetrics _metrics;
    private readonly ILogger _logger;
    private readonly IStorageObserver[] _observers;
    private readonly GroupCommitter _committer;
    private readonly ConcurrentDictionary<BucketKey, Bucket> _buckets = new();
    private readonly ConcurrentDictionary<BucketKey, byte> _needsScrub = new();
    private readonly SemaphoreSlim _openGate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CorruptionSink _readCorruption;
    private Task? _intervalSync;
    private volatile bool _open;
    private volatile bool _disposed;

    public SegmentLogStore(string directory, StorageOptions options, TimeProvider timeProvider, StorageMetrics metrics,
        ILogger<SegmentLogStore>? logger = null, IEnumerable<IStorageObserver>? observers = null)
    {
        Directory = Path.GetFullPath(directory);
        _options = options;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger ?? NullLogger<SegmentLogStore>.Instance;
        _observers = observers?.ToArray() ?? [];
        Partitioner = new Partitioner(options.ParsedPartitioning, options.BucketWidth);
        _committer = new GroupCommitter(metrics, timeProvider, options.IntervalDurability, options.FsyncInterval);
        _readCorruption = OnReadCorruption;
        metrics.Attach(Totals);
    }

    /// <summary>The <c>segments</c> folder.</summary>
    public string Directory { get; }

    public Partitioner Partitioner { get; }

    /// <summary>What start-up recovery found (null before <see cref="OpenAsync"/>).</summary>
    public RecoveryReport? Recovery { get; private set; }

    /// <summary>
    /// Recovers every bucket (torn tails truncated, corrupt regions reported and rewritten away, leftovers of
    /// interrupted rewrites removed), then tells the observers what is held. Idempotent.
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
            var report = new RecoveryReport();
            foreach (var partitionDirectory in System.IO.Directory.EnumerateDirectories(Directory))
            {
                if (Path.GetFileName(partitionDirectory).StartsWith(SegmentFormat.DroppingPrefix, StringComparison.Ordinal))
                {
                    System.IO.Directory.Delete(partitionDirectory, recursive: true);
                    continue;
                }
                foreach (var bucketDirectory in System.IO.Directory.EnumerateDirectories(partitionDirectory))
                    await RecoverBucketDirectoryAsync(bucketDirectory, report);
                if (!System.IO.Directory.EnumerateFileSystemEntries(partitionDirectory).Any())
                    System.IO.Directory.Delete(partitionDirectory);
            }

            foreach (var bucket in _buckets.Values)
            {
                var digests = DigestsOf(bucket);
                Notify(o => o.OnBucketLoaded(bucket.Key, digests));
            }
            Recovery = report;
            LogOpened(Directory, _buckets.Count, report.Records, report.Truncations, report.CorruptRegions);
            if (_options.IntervalDurability)
                _intervalSync = RunIntervalSyncAsync(_stopping.Token);
            _open = true;
        }
        finally
        {
            _openGate.Release();
        }
    }

    public ValueTask<AppendResult> AppendAsync(IReadOnlyList<LogRecord> records, CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        ArgumentNullException.ThrowIfNull(records);
        return records.Count == 0 ? ValueTask.FromResult(new AppendResult([], 0, 0)) : AppendRecordsAsync(records, cancellationToken);
    }

    private async ValueTask<AppendResult> AppendRecordsAsync(IReadOnlyList<LogRecord> records, CancellationToken cancellationToken)
    {
        // Encode every record into one pooled buffer of frames, outside any lock.
        using var batch = EncodedBatch.FromRecords(records);
        return await AppendAsync(batch, null, cancellationToken);
    }

    public async ValueTask<AppendResult> AppendAsync(EncodedBatch batch, IReadOnlyList<int>? indexes = null, CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        ArgumentNullException.ThrowIfNull(batch);
        var selected = indexes?.Count ?? batch.Count;
        var statuses = new AppendStatus[selected];
        if (selected == 0)
            return new AppendResult(statuses, 0, 0);

        var frames = batch.FramesArray;
        var buffer = batch.Buffer;
        // Statuses by frame while appending (a selection may skip frames), then in the caller's order.
        var byFrame = indexes is null ? statuses : new AppendStatus[batch.Count];
        var groups = new List<(BucketKey Key, List<int> Frames)>(1);
        for (var k = 0; k < selected; k++)
        {
            var i = indexes is null ? k : indexes[k];
            if ((uint)i >= (uint)batch.Count)
                throw new ArgumentOutOfRangeException(nameof(indexes), i, $"The batch holds {batch.Count} records.");
            ref readonly var frame = ref frames[i];
            if (frame.PayloadLength > _options.MaxRecordBytes)
                throw new ArgumentException($"records[{k}] (id '{frame.Id}') encodes to {frame.PayloadLength} bytes, more than LogStream:Storage:MaxRecordBytes ({_options.MaxRecordBytes}).", "records");
            var key = Partitioner.Place(frame.Source, frame.Ticks);
            var group = 0;
            while (group < groups.Count && groups[group].Key != key)
                group++;
            if (group == groups.Count)
                groups.Add((key, new List<int>(selected)));
            groups[group].Frames.Add(i);
        }

        long ticket = 0;
        foreach (var (key, members) in groups)
            ticket = Math.Max(ticket, await AppendToBucketAsync(key, [.. members], frames, buffer, byFrame, cancellationToken));

        if (indexes is not null)
        {
            for (var k = 0; k < selected; k++)
                statuses[k] = byFrame[indexes[k]];
        }
        int added = 0, present = 0;
        foreach (var status in statuses)
        {
            if (status == AppendStatus.Added)
                added++;
            else if (status == AppendStatus.AlreadyPresent)
                present++;
        }
        _metrics.Appended(0, 0, present);
        if (ticket > 0)
            await _committer.WaitAsync(ticket).WaitAsync(cancellationToken);
        return new AppendResult(statuses, added, present);
    }

    private async ValueTask<long> AppendToBucketAsync(BucketKey key, int[] indexes, PendingFrame[] frames, byte[] buffer,
        AppendStatus[] statuses, CancellationToken cancellationToken)
    {
        var startTicks = Partitioner.ToUnixTicks(key.Bucket);
        if (startTicks + Partitioner.BucketWidth.Ticks + _options.Retention.Ticks <= Partitioner.ToUnixTicks(_timeProvider.GetUtcNow()))
        {
            foreach (var i in indexes)
                statuses[i] = AppendStatus.Expired;
            return 0;
        }

        while (true)
        {
            var bucket = _buckets.GetOrAdd(key, static (k, self) => self.NewBucket(k, self.Partitioner.BucketWidth.Ticks), this);
            await bucket.Gate.WaitAsync(cancellationToken);
            try
            {
                if (bucket.Dropped)
                    continue;
                return AppendLocked(bucket, indexes, frames, buffer, statuses);
            }
            finally
            {
                bucket.Gate.Release();
            }
        }
    }

    private long AppendLocked(Bucket bucket, int[] indexes, PendingFrame[] frames, byte[] buffer, AppendStatus[] statuses)
    {
        ThrowIfFailed();
        var fresh = new List<int>(indexes.Length);
        var bytes = 0;
        foreach (var i in indexes)
        {
            ref var value = ref CollectionsMarshal.GetValueRefOrAddDefault(bucket.Ids, frames[i].Id, out var exists);
            if (!exists)
            {
                // From the id's bytes in the encoded payload, as recovery does: no second UTF-8 encoding under the gate.
                EncodedRecord.TryReadId(buffer.AsSpan(frames[i].FrameOffset + Frame.HeaderBytes, frames[i].PayloadLength), out var idBytes);
                frames[i].IdHash = RecordIdHash.Of(idBytes);
                value = new DigestValue(frames[i].ContentHash, frames[i].IdHash, frames[i].PayloadLength);
                statuses[i] = AppendStatus.Added;
                fresh.Add(i);
                bytes += Frame.HeaderBytes + frames[i].PayloadLength;
            }
            else
            {
                statuses[i] = AppendStatus.AlreadyPresent;
            }
        }
        if (fresh.Count == 0)
            return bucket.LastTicket;

        // The common case (every record new, one bucket) writes the batch buffer as it is; otherwise pack the new frames.
        ReadOnlySpan<byte> data;
        ReadOnlySpan<PendingFrame> pending;
        var offsetBase = 0;
        byte[]? packed = null;
        PendingFrame[]? packedFrames = null;
        if (fresh.Count == indexes.Length && IsContiguous(indexes))
        {
            offsetBase = frames[indexes[0]].FrameOffset;
            data = buffer.AsSpan(offsetBase, bytes);
            pending = frames.AsSpan(indexes[0], indexes.Length);
        }
        else
        {
            packed = ArrayPool<byte>.Shared.Rent(bytes);
            packedFrames = ArrayPool<PendingFrame>.Shared.Rent(fresh.Count);
            var at = 0;
            for (var k = 0; k < fresh.Count; k++)
            {
                var frame = frames[fresh[k]];
                var length = Frame.HeaderBytes + frame.PayloadLength;
                buffer.AsSpan(frame.FrameOffset, length).CopyTo(packed.AsSpan(at));
                packedFrames[k] = frame;
                packedFrames[k].FrameOffset = at;
                at += length;
            }
            data = packed.AsSpan(0, bytes);
            pending = packedFrames.AsSpan(0, fresh.Count);
        }

        try
        {
            var segment = EnsureActive(bucket, bytes);
            segment.Append(data, pending, offsetBase);
            var ticket = _committer.MarkDirty(segment, fresh.Count);
            bucket.LastTicket = ticket;
            bucket.LastAppendUtcTicks = _timeProvider.GetUtcNow().UtcTicks;
            _metrics.Appended(fresh.Count, bytes, 0);
            if (_observers.Length > 0)
            {
                var digests = new RecordDigest[pending.Length];
                for (var k = 0; k < pending.Length; k++)
                    digests[k] = new RecordDigest(pending[k].Id, pending[k].ContentHash, pending[k].PayloadLength, pending[k].IdHash);
                NotifyAppended(bucket.Key, digests);
            }
            return ticket;
        }
        catch
        {
            foreach (var i in fresh)
                bucket.Ids.Remove(frames[i].Id);
            throw;
        }
        finally
        {
            if (packed is not null)
                ArrayPool<byte>.Shared.Return(packed);
            if (packedFrames is not null)
                ArrayPool<PendingFrame>.Shared.Return(packedFrames, clearArray: true);
        }
    }

    private static bool IsContiguous(int[] indexes)
    {
        for (var k = 1; k < indexes.Length; k++)
        {
            if (indexes[k] != indexes[k - 1] + 1)
                return false;
        }
        return true;
    }

    private LogSegment EnsureActive(Bucket bucket, int bytes)
    {
        var active = bucket.Active;
        if (active is not null && active.Writable && (active.RecordCount == 0 || active.FileBytes + bytes <= _options.MaxSegmentBytes))
            return active;
        if (active is not null)
            active.Writable = false;
        EnsureDirectory(bucket);
        var sequence = bucket.NextSequence++;
        var header = new SegmentHeader(SegmentKind.Log, bucket.StartTicks, bucket.WidthTicks, sequence, 0, bucket.Key.Partition);
        var segment = LogSegment.Create(Path.Combine(bucket.Directory, SegmentFormat.FileName(sequence, SegmentKind.Log)), header);
        bucket.Segments = [.. bucket.Segments, segment];
        bucket.Active = segment;
        return segment;
    }

    private void EnsureDirectory(Bucket bucket)
    {
        if (System.IO.Directory.Exists(bucket.Directory))
            return;
        var partitionDirectory = Path.GetDirectoryName(bucket.Directory)!;
        var newPartition = !System.IO.Directory.Exists(partitionDirectory);
        System.IO.Directory.CreateDirectory(bucket.Directory);
        if (newPartition)
            FileSync.FlushDirectory(Directory);
        FileSync.FlushDirectory(partitionDirectory);
    }

    public IAsyncEnumerable<LogRecord> QueryAsync(LogQuery query, CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        ArgumentNullException.ThrowIfNull(query);
        return new SyncAsyncEnumerable<LogRecord>(Query(query), cancellationToken);
    }

    /// <summary>The synchronous core of <see cref="QueryAsync"/> (reads hit the page cache; no thread is parked on I/O waits).</summary>
    internal IEnumerable<LogRecord> Query(LogQuery query)
    {
        var filter = new RecordFilter(query);
        var limit = query.Limit ?? int.MaxValue;
        if (filter.MatchesNothing || limit <= 0)
            yield break;
        var acquired = AcquireSegments(filter);
        try
        {
            var returned = 0;
            foreach (var entry in NewestFirstMerge.Merge(acquired, filter, _readCorruption))
            {
                EncodedRecord.TryParse(entry.Payload.Span, out var view);
                yield return view.ToRecord(entry.Id);
                if (++returned >= limit)
                    yield break;
            }
        }
        finally
        {
            foreach (var (segment, _, _) in acquired)
                segment.Release();
        }
    }

    public ValueTask<long> CountAsync(LogQuery query, CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        var filter = new RecordFilter(query);
        if (filter.MatchesNothing)
            return ValueTask.FromResult(0L);
        var acquired = AcquireSegments(filter);
        try
        {
            // Segments count independently: a scan decompresses them on every core.
            long count = 0;
            Parallel.ForEach(acquired, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
                () => 0L,
                (item, _, subtotal) => subtotal + item.Segment.Count(filter, _readCorruption),
                subtotal => Interlocked.Add(ref count, subtotal));
            if (query.Limit is { } limit)
                count = Math.Min(count, limit);
            return ValueTask.FromResult(count);
        }
        finally
        {
            foreach (var (segment, _, _) in acquired)
                segment.Release();
        }
    }

    /// <summary>Segments that may hold matches, each acquired, with the record count and time bound captured together.</summary>
    private List<(Segment Segment, int Count, long MaxTicks)> AcquireSegments(RecordFilter filter)
    {
        var acquired = new List<(Segment, int, long)>();
        foreach (var bucket in _buckets.Values)
        {
            if (filter.Partitions is not null && !filter.Partitions.Contains(bucket.Key.Partition))
                continue;
            if (bucket.EndTicks <= filter.FromTicks || bucket.StartTicks >= filter.ToTicks)
                continue;
            while (true)
            {
                var segments = bucket.Segments;
                var start = acquired.Count;
                var complete = true;
                foreach (var segment in segments)
                {
                    if (!segment.MayMatch(filter))
                        continue;
                    if (!segment.TryAcquire())
                    {
                        complete = false;
                        break;
                    }
                    var (count, maxTicks) = segment is LogSegment log ? log.Capture() : (-1, segment.MaxTicks);
                    acquired.Add((segment, count, maxTicks));
                }
                if (complete)
                    break;
                // A rewrite swapped this bucket's segments meanwhile: take the new set.
                for (var i = acquired.Count - 1; i >= start; i--)
                {
                    acquired[i].Item1.Release();
                    acquired.RemoveAt(i);
                }
            }
        }
        return acquired;
    }

    public IReadOnlyList<BucketInfo> ListBuckets()
    {
        ThrowIfNotOpen();
        return _buckets.Values
            .Where(b => !b.Dropped)
            .Select(b => new BucketInfo(b.Key.Partition, b.Key.Bucket, b.Ids.Count, b.Bytes, b.IsSealed, b.Segments.Length))
            .OrderBy(b => b.Partition, StringComparer.Ordinal).ThenBy(b => b.Bucket)
            .ToList();
    }

    public IAsyncEnumerable<LogRecord> ReadBucketAsync(BucketKey bucket, CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        return new SyncAsyncEnumerable<LogRecord>(ReadBucket(bucket, null, ToRecord), cancellationToken);
    }

    public IAsyncEnumerable<LogRecord> ReadRecordsAsync(BucketKey bucket, IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default) =>
        ReadRecords(bucket, ids, ToRecord, cancellationToken);

    public IAsyncEnumerable<byte[]> ReadEncodedRecordsAsync(BucketKey bucket, IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default) =>
        ReadRecords(bucket, ids, static entry => entry.Payload.ToArray(), cancellationToken);

    private SyncAsyncEnumerable<T> ReadRecords<T>(BucketKey bucket, IReadOnlyCollection<string> ids, Func<Entry, T> map, CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        var wanted = new IdSet(ids);
        return new SyncAsyncEnumerable<T>(wanted.Count == 0 ? [] : ReadBucket(bucket, wanted, map), cancellationToken);
    }

    private static LogRecord ToRecord(Entry entry)
    {
        EncodedRecord.TryParse(entry.Payload.Span, out var view);
        return view.ToRecord(entry.Id);
    }

    /// <param name="map">Called while the entry's payload is valid (it points into a pooled block buffer).</param>
    private IEnumerable<T> ReadBucket<T>(BucketKey key, IdSet? ids, Func<Entry, T> map)
    {
        if (!_buckets.TryGetValue(key, out var bucket))
            yield break;
        var acquired = new List<Segment>();
        while (true)
        {
            var complete = true;
            foreach (var segment in bucket.Segments)
            {
                if (!segment.TryAcquire())
                {
                    complete = false;
                    break;
                }
                acquired.Add(segment);
            }
            if (complete)
                break;
            acquired.ForEach(s => s.Release());
            acquired.Clear();
        }
        try
        {
            foreach (var segment in acquired)
            {
                foreach (var entry in segment.StorageOrder(ids, _readCorruption))
                    yield return map(entry);
            }
        }
        finally
        {
            acquired.ForEach(s => s.Release());
        }
    }

    public IReadOnlyList<RecordDigest> GetDigests(BucketKey bucket, Func<ulong, bool>? idHashFilter = null)
    {
        ThrowIfNotOpen();
        if (!_buckets.TryGetValue(bucket, out var state))
            return [];
        state.Gate.Wait();
        try
        {
            if (idHashFilter is null)
                return DigestsOf(state);
            var kept = new List<RecordDigest>();
            foreach (var (id, value) in state.Ids)
            {
                if (idHashFilter(value.IdHash))
                    kept.Add(value.ToDigest(id));
            }
            return kept;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    private static RecordDigest[] DigestsOf(Bucket bucket)
    {
        var digests = new RecordDigest[bucket.Ids.Count];
        var i = 0;
        foreach (var (id, value) in bucket.Ids)
            digests[i++] = value.ToDigest(id);
        return digests;
    }

    public async Task<IReadOnlyList<RecordDigest>> RemoveAsync(BucketKey bucket, IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        if (!_buckets.TryGetValue(bucket, out var state) || ids.Count == 0)
            return [];
        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            if (state.Dropped)
                return [];
            ThrowIfFailed();
            var removed = new List<RecordDigest>();
            var remove = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                if (state.Ids.TryGetValue(id, out var value) && remove.Add(id))
                    removed.Add(value.ToDigest(id));
            }
            if (removed.Count == 0)
                return [];
            Rewrite(state, remove, seal: ShouldSealOnRewrite(state, _timeProvider.GetUtcNow()));
            _metrics.RecordsRemoved(removed.Count);
            var array = removed.ToArray();
            Notify(o => o.OnRemoved(state.Key, array));
            LogRemoved(removed.Count, state.Key.Partition, state.Key.Bucket);
            return removed;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    public async Task<bool> DropBucketAsync(BucketKey bucket, CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        if (!_buckets.TryGetValue(bucket, out var state))
            return false;
        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            if (state.Dropped)
                return false;
            state.Dropped = true;
            _buckets.TryRemove(new KeyValuePair<BucketKey, Bucket>(bucket, state));
            _needsScrub.TryRemove(bucket, out _);
            if (System.IO.Directory.Exists(state.Directory))
            {
                // Rename first (atomic), so a crash never leaves half a bucket that looks alive.
                var doomed = Path.Combine(Directory, SegmentFormat.DroppingPrefix + Guid.NewGuid().ToString("N"));
                System.IO.Directory.Move(state.Directory, doomed);
                var partitionDirectory = Path.GetDirectoryName(state.Directory)!;
                FileSync.FlushDirectory(partitionDirectory);
                FileSync.FlushDirectory(Directory);
                System.IO.Directory.Delete(doomed, recursive: true);
                TryDeleteEmptyDirectory(partitionDirectory);
            }
            foreach (var segment in state.Segments)
            {
                if (Path.GetDirectoryName(segment.Path) != state.Directory)
                    TryDelete(segment.Path);
                segment.Retire();
            }
            state.Segments = [];
            state.Active = null;
            state.Ids.Clear();
            Notify(o => o.OnBucketDropped(bucket));
            LogDropped(bucket.Partition, bucket.Bucket);
            return true;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// Seals the buckets whose window closed more than <c>SealGrace</c> ago (and, when already sealed once, whose late
    /// records reach <c>ResealFraction</c> of the sealed ones, the last of them that old too), rewrites buckets where
    /// reads met corruption, drops buckets past the retention.
    /// </summary>
    public async Task<MaintenanceResult> RunMaintenanceAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        var now = _timeProvider.GetUtcNow();
        var nowTicks = Partitioner.ToUnixTicks(now);
        int sealedCount = 0, scrubbed = 0, dropped = 0;

        foreach (var bucket in _buckets.Values.ToList())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (bucket.EndTicks + _options.Retention.Ticks <= nowTicks)
            {
                if (await DropBucketAsync(bucket.Key, cancellationToken))
                {
                    _metrics.RetentionDrop();
                    dropped++;
                }
                continue;
            }

            var scrub = _needsScrub.TryRemove(bucket.Key, out _);
            if (!scrub && !IsDueForSealing(bucket, now))
                continue;
            await bucket.Gate.WaitAsync(cancellationToken);
            try
            {
                if (bucket.Dropped)
                    continue;
                var due = IsDueForSealing(bucket, now);
                if (!scrub && !due)
                    continue;
                ThrowIfFailed();
                Rewrite(bucket, remove: null, seal: due || ShouldSealOnRewrite(bucket, now));
                if (due)
                {
                    _metrics.BucketSealed();
                    sealedCount++;
                    LogSealed(bucket.Key.Partition, bucket.Key.Bucket, bucket.Ids.Count, bucket.Bytes);
                }
                if (scrub)
                    scrubbed++;
            }
            finally
            {
                bucket.Gate.Release();
            }
        }
        return new MaintenanceResult(sealedCount, dropped, scrubbed);
    }

    /// <summary>A rewrite (removal, scrub) keeps a bucket sealed once it was, or seals it when its window is over.</summary>
    private bool ShouldSealOnRewrite(Bucket bucket, DateTimeOffset now) =>
        Array.Exists(bucket.Segments, s => s.IsSealed) || bucket.EndTicks + _options.SealGrace.Ticks <= Partitioner.ToUnixTicks(now);

    private bool IsDueForSealing(Bucket bucket, DateTimeOffset now)
    {
        var segments = bucket.Segments;
        if (segments.Length == 0 || Array.TrueForAll(segments, s => s.IsSealed))
            return false;
        var grace = _options.SealGrace.Ticks;
        if (bucket.EndTicks + grace > Partitioner.ToUnixTicks(now))
            return false;
        if (!Array.Exists(segments, s => s.IsSealed))
            return true;
        // Sealed once: the log segments hold late records (late writes, repair). Rewrite the bucket only when they have
        // been quiet for the grace period and are a sizeable share of it.
        if (bucket.LastAppendUtcTicks + grace > now.UtcTicks)
            return false;
        long sealedRecords = 0, lateRecords = 0;
        foreach (var segment in segments)
        {
            if (segment.IsSealed)
                sealedRecords += segment.RecordCount;
            else
                lateRecords += segment.RecordCount;
        }
        return lateRecords >= _options.ResealFraction * sealedRecords;
    }

    /// <summary>
    /// Rewrites a bucket into one new segment (sealed: sorted, compressed, indexed; else frames) without
    /// <paramref name="remove"/>, then retires the old files. Crash-safe: the new file is written to a temp name,
    /// fsynced, renamed (directory fsynced) and declares in its header that it replaces every older sequence, so
    /// recovery deletes leftovers of an interrupted rewrite. Records unreadable now (corruption) are reported lost.
    /// Caller holds the gate.
    /// </summary>
    private void Rewrite(Bucket bucket, HashSet<string>? remove, bool seal)
    {
        var inputs = bucket.Segments;
        EnsureDirectory(bucket);
        var sequence = bucket.NextSequence++;
        var kind = seal ? SegmentKind.Sealed : SegmentKind.Log;
        var header = new SegmentHeader(kind, bucket.StartTicks, bucket.WidthTicks, sequence, sequence - 1, bucket.Key.Partition);
        var path = Path.Combine(bucket.Directory, SegmentFormat.FileName(sequence, kind));
        var emitted = new HashSet<string>(StringComparer.Ordinal);

        var held = new List<Segment>();
        foreach (var input in inputs)
        {
            if (input.TryAcquire())
                held.Add(input);
        }
        Segment output;
        try
        {
            var merged = NewestFirstMerge.Ascending(held, _readCorruption);
            if (seal)
            {
                using var writer = new SealedSegment.Writer(path, header, _options.SealedBlockBytes, _options.CompressionLevel);
                foreach (var entry in merged)
                {
                    if (Keep(entry.Id))
                        writer.Add(entry.Payload.Span, bucket.Ids[entry.Id].Hash);
                }
                output = writer.Complete();
            }
            else
            {
                output = WriteLogSegment(path, header, merged.Where(e => Keep(e.Id)));
            }
        }
        finally
        {
            held.ForEach(s => s.Release());
        }

        bucket.Segments = [output];
        if (bucket.Active is { } active)
            active.Writable = false;
        bucket.Active = output as LogSegment;
        if (bucket.Active is not null)
            bucket.Active.Writable = true;
        foreach (var input in inputs)
        {
            TryDelete(input.Path);
            input.Retire();
        }

        // Whatever the index holds but the rewrite could not read is lost: forget it, so repair can bring it back.
        List<RecordDigest>? lost = null;
        foreach (var (id, value) in bucket.Ids)
        {
            if (!emitted.Contains(id) && (remove is null || !remove.Contains(id)))
                (lost ??= []).Add(value.ToDigest(id));
        }
        if (remove is not null)
        {
            foreach (var id in remove)
                bucket.Ids.Remove(id);
        }
        if (lost is not null)
        {
            foreach (var digest in lost)
                bucket.Ids.Remove(digest.Id);
            _metrics.RecordsRemoved(lost.Count);
            var array = lost.ToArray();
            // During start-up the observers learn the surviving set from OnBucketLoaded instead.
            if (_open)
                Notify(o => o.OnRemoved(bucket.Key, array));
            LogLostRecords(lost.Count, bucket.Key.Partition, bucket.Key.Bucket);
        }

        bool Keep(string id) => (remove is null || !remove.Contains(id)) && bucket.Ids.ContainsKey(id) && emitted.Add(id);
    }

    private static LogSegment WriteLogSegment(string path, SegmentHeader header, IEnumerable<Entry> entries)
    {
        var temp = path + SegmentFormat.TempExtension;
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1024 * 1024))
        {
            file.Write(header.ToBytes());
            var frame = new byte[Frame.HeaderBytes + 1024];
            foreach (var entry in entries)
            {
                var length = entry.Payload.Length;
                if (frame.Length < Frame.HeaderBytes + length)
                    frame = new byte[Frame.HeaderBytes + length];
                entry.Payload.Span.CopyTo(frame.AsSpan(Frame.HeaderBytes));
                Frame.WriteHeader(frame, length);
                file.Write(frame, 0, Frame.HeaderBytes + length);
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path);
        FileSync.FlushDirectory(Path.GetDirectoryName(path)!);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        return LogSegment.Recover(path, header, handle, RandomAccess.GetLength(handle), new LogRecoveryResult());
    }

    private async Task RecoverBucketDirectoryAsync(string bucketDirectory, RecoveryReport report)
    {
        var files = new List<(string Path, SegmentHeader Header, Microsoft.Win32.SafeHandles.SafeFileHandle Handle, long Length)>();
        foreach (var path in System.IO.Directory.EnumerateFiles(bucketDirectory))
        {
            var name = Path.GetFileName(path);
            if (name.EndsWith(SegmentFormat.TempExtension, StringComparison.Ordinal))
            {
                File.Delete(path);
                continue;
            }
            if (!name.EndsWith(SegmentFormat.LogExtension, StringComparison.Ordinal) && !name.EndsWith(SegmentFormat.SealedExtension, StringComparison.Ordinal))
                continue;
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            var status = SegmentHeader.TryRead(handle, length, out var header);
            if (status == SegmentHeader.ReadStatus.Ok)
            {
                files.Add((path, header!, handle, length));
                continue;
            }
            handle.Dispose();
            if (status == SegmentHeader.ReadStatus.TooShort)
            {
                // Crash between creating a log segment and making its header durable: it never held a record.
                LogEmptySegmentRemoved(path);
                File.Delete(path);
            }
            else
            {
                Quarantine(path, $"unreadable header ({status})", report, bucket: null);
            }
        }

        if (files.Count == 0)
        {
            TryDeleteEmptyDirectory(bucketDirectory);
            return;
        }

        foreach (var group in files.GroupBy(f => (f.Header.Partition, f.Header.BucketTicks)))
        {
            var first = group.First().Header;
            var key = new BucketKey(first.Partition, Partitioner.FromUnixTicks(first.BucketTicks));
            var bucket = _buckets.GetOrAdd(key, k => NewBucket(k, first.WidthTicks));
            // Newest first: a segment that opens declares which older ones it replaced; one that does not open (moved
            // aside) declares nothing, so the older files it would have replaced stay as the best copy there is.
            uint replacedUpTo = 0;
            var opened = new List<(Segment Segment, List<RecordDigest> Digests)>();
            var corruptions = new List<CorruptionReport>();
            var duplicates = false;
            foreach (var file in group.OrderByDescending(f => f.Header.Sequence))
            {
                bucket.NextSequence = Math.Max(bucket.NextSequence, file.Header.Sequence + 1);
                if (file.Header.Sequence <= replacedUpTo)
                {
                    // Leftover of a rewrite that was committed (renamed) before the crash.
                    file.Handle.Dispose();
                    File.Delete(file.Path);
                    LogObsoleteSegmentRemoved(file.Path);
                    continue;
                }

                List<RecordDigest> digests;
                Segment segment;
                if (file.Header.Kind == SegmentKind.Log)
                {
                    var result = new LogRecoveryResult();
                    segment = LogSegment.Recover(file.Path, file.Header, file.Handle, file.Length, result);
                    digests = result.Digests;
                    if (result.TruncatedAt >= 0)
                    {
                        report.Truncations++;
                        _metrics.RecoveryTruncation();
                        LogTornTail(file.Path, result.TruncatedAt, result.TruncatedBytes);
                    }
                    foreach (var (offset, length, id) in result.CorruptRegions)
                        corruptions.Add(new CorruptionReport(key, file.Path, offset, length, id is null ? [] : [id], "CRC mismatch"));
                }
                else
                {
                    var result = new SealedOpenResult();
                    try
                    {
                        segment = SealedSegment.Open(file.Path, file.Header, file.Handle, file.Length, result);
                    }
                    catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
                    {
                        file.Handle.Dispose();
                        Quarantine(file.Path, ex.Message, report, key);
                        continue;
                    }
                    digests = result.Digests;
                    foreach (var (offset, length, ids) in result.CorruptBlocks)
                        corruptions.Add(new CorruptionReport(key, file.Path, offset, length, ids, "block CRC mismatch"));
                }
                replacedUpTo = Math.Max(replacedUpTo, file.Header.ReplacesUpTo);
                opened.Add((segment, digests));
            }

            opened.Reverse();
            var segments = new List<Segment>(opened.Count);
            foreach (var (segment, digests) in opened)
            {
                foreach (var digest in digests)
                {
                    if (!bucket.Ids.TryAdd(digest.Id, new DigestValue(digest.ContentHash, digest.IdHash, digest.EncodedBytes)))
                        duplicates = true;
                }
                report.Records += digests.Count;
                segments.Add(segment);
            }

            bucket.Segments = [.. segments];
            if (segments.Count > 0 && segments[^1] is LogSegment last)
            {
                last.Writable = true;
                bucket.Active = last;
            }
            foreach (var corruption in corruptions)
                ReportCorruption(corruption, report);

            if (corruptions.Count > 0 || duplicates)
            {
                // Rewrite now, so damaged bytes are neither served nor reported again at the next start.
                await bucket.Gate.WaitAsync();
                try
                {
                    Rewrite(bucket, remove: null, seal: ShouldSealOnRewrite(bucket, _timeProvider.GetUtcNow()));
                }
                finally
                {
                    bucket.Gate.Release();
                }
            }
        }
    }

    private void Quarantine(string path, string reason, RecoveryReport report, BucketKey? bucket)
    {
        var target = path + SegmentFormat.CorruptExtension;
        File.Move(path, target, overwrite: true);
        report.CorruptRegions++;
        _metrics.CorruptRegion();
        LogQuarantined(path, reason);
        if (bucket is { } key)
            Notify(o => o.OnCorruption(new CorruptionReport(key, target, 0, new FileInfo(target).Length, [], reason)));
    }

    private void ReportCorruption(CorruptionReport corruption, RecoveryReport? report)
    {
        if (report is not null)
            report.CorruptRegions++;
        _metrics.CorruptRegion();
        LogCorruption(corruption.SegmentPath, corruption.Offset, corruption.Length, corruption.LostIds.Count, corruption.Reason);
        Notify(o => o.OnCorruption(corruption));
    }

    private void OnReadCorruption(Segment segment, long offset, long length, string? lostId, string reason)
    {
        var key = new BucketKey(segment.Header.Partition, Partitioner.FromUnixTicks(segment.Header.BucketTicks));
        ReportCorruption(new CorruptionReport(key, segment.Path, offset, length, lostId is null ? [] : [lostId], reason), null);
        _needsScrub.TryAdd(key, 0);
    }

    private void NotifyAppended(BucketKey key, RecordDigest[] digests) => Notify(o => o.OnAppended(key, digests));

    private Bucket NewBucket(BucketKey key, long widthTicks)
    {
        var ticks = Partitioner.ToUnixTicks(key.Bucket);
        var directory = Path.Combine(Directory, SegmentFormat.PartitionDirectoryName(key.Partition), SegmentFormat.BucketDirectoryName(ticks));
        return new Bucket(key, ticks, widthTicks, directory);
    }

    private void Notify(Action<IStorageObserver> call)
    {
        foreach (var observer in _observers)
        {
            try
            {
                call(observer);
            }
            catch (Exception ex)
            {
                LogObserverFailed(ex, observer.GetType().Name);
            }
        }
    }

    private (long Segments, long DiskBytes, long Records) Totals()
    {
        long segments = 0, bytes = 0, records = 0;
        foreach (var bucket in _buckets.Values)
        {
            var s = bucket.Segments;
            segments += s.Length;
            foreach (var segment in s)
                bytes += segment.FileBytes;
            records += bucket.Ids.Count;
        }
        return (segments, bytes, records);
    }

    private async Task RunIntervalSyncAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.FsyncInterval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await _committer.FlushAsync();
                }
                catch (IOException ex)
                {
                    LogFsyncFailed(ex);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void ThrowIfNotOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_open)
            throw new InvalidOperationException("The log store is not open yet: call OpenAsync (the storage hosted service does it at start-up).");
    }

    private void ThrowIfFailed()
    {
        if (_committer.Failure is { } failure)
            throw new IOException("The store stopped accepting writes after an fsync failure; restart the node.", failure);
    }

    /// <summary>True after an fsync failure: the store refuses writes until restarted (health reports it).</summary>
    public bool Failed => _committer.Failure is not null;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A leftover is recognised at the next start-up (older sequence than a replacing segment).
        }
    }

    private static void TryDeleteEmptyDirectory(string path)
    {
        try
        {
            if (System.IO.Directory.Exists(path) && !System.IO.Directory.EnumerateFileSystemEntries(path).Any())
                System.IO.Directory.Delete(path);
        }
        catch (IOException)
        {
            // Raced with a new bucket; harmless.
        }
    }

    /// <summary>Makes everything written durable, then closes every file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        await _stopping.CancelAsync();
        if (_intervalSync is not null)
            await _intervalSync;
        if (_open)
        {
            try
            {
                await _committer.FlushAsync();
            }
            catch (IOException ex)
            {
                LogFsyncFailed(ex);
            }
        }
        foreach (var bucket in _buckets.Values)
        {
            foreach (var segment in bucket.Segments)
                segment.Retire();
            bucket.Segments = [];
        }
        _buckets.Clear();
        _stopping.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    [LoggerMessage(Level = LogLevel.Information, Message = "Log store opened at {Directory}: {Buckets} buckets, {Records} records, {Truncations} torn tails truncated, {Corrupt} corrupt regions")]
    private partial void LogOpened(string directory, int buckets, long records, int truncations, int corrupt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Torn tail truncated: {Path} at offset {Offset} ({Bytes} bytes of an unfinished write removed)")]
    private partial void LogTornTail(string path, long offset, long bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Corrupt data in {Path} at offset {Offset} ({Length} bytes, {LostIds} known ids lost): {Reason}; reported for repair")]
    private partial void LogCorruption(string path, long offset, long length, int lostIds, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Segment {Path} is unreadable ({Reason}); moved aside as *.corrupt, its records are re-fetched by repair")]
    private partial void LogQuarantined(string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed segment {Path}: it was created but never got a durable header")]
    private partial void LogEmptySegmentRemoved(string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed segment {Path}: replaced by a rewrite finished before the last stop")]
    private partial void LogObsoleteSegmentRemoved(string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sealed {Partition} bucket {Bucket}: {Records} records, {Bytes} bytes")]
    private partial void LogSealed(string partition, DateTimeOffset bucket, int records, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped {Partition} bucket {Bucket}")]
    private partial void LogDropped(string partition, DateTimeOffset bucket);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed {Count} records from {Partition} bucket {Bucket} on request")]
    private partial void LogRemoved(int count, string partition, DateTimeOffset bucket);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} records of {Partition} bucket {Bucket} were unreadable and are forgotten; repair re-fetches them")]
    private partial void LogLostRecords(int count, string partition, DateTimeOffset bucket);

    [LoggerMessage(Level = LogLevel.Error, Message = "Storage observer {Observer} failed")]
    private partial void LogObserverFailed(Exception ex, string observer);

    [LoggerMessage(Level = LogLevel.Critical, Message = "fsync failed: the log store refuses writes until the node restarts")]
    private partial void LogFsyncFailed(Exception ex);
}

/// <summary>What start-up recovery found.</summary>
public sealed class RecoveryReport
{
    public long Records { get; internal set; }

    public int Truncations { get; internal set; }

    public int CorruptRegions { get; internal set; }
}

/// <summary>What one maintenance tick did.</summary>
public readonly record struct MaintenanceResult(int Sealed, int Dropped, int Scrubbed);

/// <summary>Exposes a synchronous iterator as an async stream, checking cancellation between items.</summary>
internal sealed class SyncAsyncEnumerable<T>(IEnumerable<T> source, CancellationToken boundToken) : IAsyncEnumerable<T>
{
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        new Enumerator(source.GetEnumerator(), boundToken, cancellationToken);

    private sealed class Enumerator(IEnumerator<T> inner, CancellationToken first, CancellationToken second) : IAsyncEnumerator<T>
    {
        public T Current => inner.Current;

        public ValueTask<bool> MoveNextAsync()
        {
            first.ThrowIfCancellationRequested();
            second.ThrowIfCancellationRequested();
            return ValueTask.FromResult(inner.MoveNext());
        }

        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
