using System.Buffers;

namespace LogStream.Storage;

public sealed partial class SegmentLogStore
{
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
                throw new ArgumentException($"records[{k}] (id '{batch.IdAt(i)}') encodes to {frame.PayloadLength} bytes, more than LogStream:Storage:MaxRecordBytes ({_options.MaxRecordBytes}).", "records");
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
        var startTicks = UnixTicks.From(key.Bucket);
        if (startTicks + Partitioner.BucketWidth.Ticks + _options.Retention.Ticks <= UnixTicks.From(_timeProvider.GetUtcNow()))
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

    /// <summary>
    /// Decides which records are new to the bucket (its log segments' id table, then its sealed segments' id indexes,
    /// then the batch itself), writes those, indexes them. Caller holds the gate.
    /// </summary>
    private long AppendLocked(Bucket bucket, int[] indexes, PendingFrame[] frames, byte[] buffer, AppendStatus[] statuses)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfFailed();
        var fresh = new List<int>(indexes.Length);
        var bytes = 0;
        var sealedSegments = SealedOf(bucket);
        BlockScratch? scratch = null;
        Dictionary<ulong, int>? batchHashes = indexes.Length > 1 ? new(indexes.Length) : null;
        try
        {
            foreach (var i in indexes)
            {
                var payload = buffer.AsSpan(frames[i].FrameOffset + Frame.HeaderBytes, frames[i].PayloadLength);
                EncodedRecord.TryReadId(payload, out var id);
                var idHash = _context.IdHash(id);
                frames[i].IdHash = idHash;
                if (bucket.Open.Contains(idHash, id) || InBatch(batchHashes, fresh, frames, buffer, idHash, id)
                    || InSealed(sealedSegments, idHash, id, ref scratch))
                {
                    statuses[i] = AppendStatus.AlreadyPresent;
                    continue;
                }
                statuses[i] = AppendStatus.Added;
                fresh.Add(i);
                batchHashes?.TryAdd(idHash, i);
                bytes += Frame.HeaderBytes + frames[i].PayloadLength;
            }
        }
        finally
        {
            scratch?.Dispose();
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
            var first = segment.EntryCount;
            segment.Append(data, pending, offsetBase);
            for (var k = 0; k < pending.Length; k++)
                bucket.Open.Add(first + k, pending[k].IdHash);
            var ticket = _committer.MarkDirty(segment, fresh.Count);
            bucket.LastTicket = ticket;
            bucket.LastAppendUtcTicks = _timeProvider.GetUtcNow().UtcTicks;
            _metrics.Appended(fresh.Count, bytes, 0);
            if (_observers.Length > 0)
            {
                var digests = new RecordDigest[pending.Length];
                for (var k = 0; k < pending.Length; k++)
                    digests[k] = new RecordDigest(pending[k].IdHash, pending[k].ContentHash);
                Notify(o => o.OnAppended(bucket.Key, digests));
            }
            return ticket;
        }
        finally
        {
            if (packed is not null)
                ArrayPool<byte>.Shared.Return(packed);
            if (packedFrames is not null)
                ArrayPool<PendingFrame>.Shared.Return(packedFrames, clearArray: true);
        }
    }

    /// <summary>A record earlier in the same batch with this id (compared by bytes on a hash match).</summary>
    private static bool InBatch(Dictionary<ulong, int>? batchHashes, List<int> fresh, PendingFrame[] frames, byte[] buffer, ulong idHash, ReadOnlySpan<byte> id)
    {
        if (batchHashes is null || !batchHashes.ContainsKey(idHash))
            return false;
        foreach (var j in fresh)
        {
            if (frames[j].IdHash != idHash)
                continue;
            EncodedRecord.TryReadId(buffer.AsSpan(frames[j].FrameOffset + Frame.HeaderBytes, frames[j].PayloadLength), out var other);
            if (other.SequenceEqual(id))
                return true;
        }
        return false;
    }

    private bool InSealed(SealedSegment[] sealedSegments, ulong idHash, ReadOnlySpan<byte> id, ref BlockScratch? scratch)
    {
        foreach (var segment in sealedSegments)
        {
            if (segment.Contains(idHash, id, _readCorruption, scratch ??= new BlockScratch()))
                return true;
        }
        return false;
    }

    private static SealedSegment[] SealedOf(Bucket bucket)
    {
        var segments = bucket.Segments;
        var count = 0;
        foreach (var segment in segments)
        {
            if (segment is SealedSegment)
                count++;
        }
        if (count == 0)
            return [];
        var sealedSegments = new SealedSegment[count];
        count = 0;
        foreach (var segment in segments)
        {
            if (segment is SealedSegment s)
                sealedSegments[count++] = s;
        }
        return sealedSegments;
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
        bucket.Open.Track(segment);
        return segment;
    }
}
