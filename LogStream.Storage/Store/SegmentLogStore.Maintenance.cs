namespace LogStream.Storage;

public sealed partial class SegmentLogStore
{
    /// <summary>An unsealed rewrite bigger than this is sealed instead (log segments index frames with 32-bit offsets).</summary>
    private const long MaxLogRewriteBytes = 3L << 30;

    public async Task<IReadOnlyList<RecordDigest>> RemoveAsync(BucketKey bucket, IReadOnlyCollection<ulong> idHashes, CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        if (!_buckets.TryGetValue(bucket, out var state) || idHashes.Count == 0)
            return [];
        var remove = idHashes as IReadOnlySet<ulong> ?? idHashes.ToHashSet();
        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (state.Dropped || !MayHoldAny(state, remove))
                return [];
            ThrowIfFailed();
            var removed = new List<RecordDigest>();
            var leavesReplaced = Rewrite(state, remove, removed, seal: ShouldSealOnRewrite(state, _timeProvider.GetUtcNow()));
            if (removed.Count == 0)
                return [];
            _metrics.RecordsRemoved(removed.Count);
            var array = removed.ToArray();
            // When the rewrite also lost records, the observers already got the bucket's new leaves, which leave the
            // removed records out too: telling them again would put them back.
            if (!leavesReplaced)
                Notify(o => o.OnRemoved(state.Key, array));
            LogRemoved(removed.Count, state.Key.Partition, state.Key.Bucket);
            return removed;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// Whether some record of the bucket may have one of these id hashes, so that asking to remove absent records costs
    /// no rewrite: the id table, then the sealed id indexes (a page each; past a thousand hashes, assumed).
    /// </summary>
    private bool MayHoldAny(Bucket bucket, IReadOnlySet<ulong> idHashes)
    {
        foreach (var idHash in idHashes)
        {
            if (bucket.Open.MayContain(idHash))
                return true;
        }
        var sealedSegments = SealedOf(bucket);
        if (sealedSegments.Length == 0)
            return false;
        if (idHashes.Count > 1000)
            return true;
        return idHashes.Any(idHash => Array.Exists(sealedSegments, s => s.MayHold(idHash, _readCorruption)));
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
            _needsMigration.TryRemove(bucket, out _);
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
            // Readers that meet a retired segment take the bucket's segments again: publish the empty set first.
            var segments = state.Segments;
            state.Segments = [];
            state.Active = null;
            foreach (var segment in segments)
            {
                if (Path.GetDirectoryName(segment.Path) != state.Directory)
                    TryDelete(segment.Path);
                segment.Retire();
            }
            state.ReplaceOpen(NewOpenIndex());
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
    /// reads met corruption and sealed buckets of an older format, drops buckets past the retention.
    /// </summary>
    public async Task<MaintenanceResult> RunMaintenanceAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        var now = _timeProvider.GetUtcNow();
        var nowTicks = UnixTicks.From(now);
        int sealedCount = 0, scrubbed = 0, dropped = 0, migrated = 0;

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
            var migrate = _needsMigration.TryRemove(bucket.Key, out _);
            if (!scrub && !migrate && !IsDueForSealing(bucket, now))
                continue;
            await bucket.Gate.WaitAsync(cancellationToken);
            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (bucket.Dropped)
                    continue;
                var due = IsDueForSealing(bucket, now);
                if (!scrub && !migrate && !due)
                    continue;
                ThrowIfFailed();
                try
                {
                    Rewrite(bucket, remove: null, removed: null, seal: due || migrate || ShouldSealOnRewrite(bucket, now));
                }
                catch
                {
                    // Tried again at the next tick (a full disk, say): a damaged block must not stay counted and unread.
                    if (scrub)
                        _needsScrub.TryAdd(bucket.Key, 0);
                    if (migrate)
                        _needsMigration.TryAdd(bucket.Key, 0);
                    throw;
                }
                if (due)
                {
                    _metrics.BucketSealed();
                    sealedCount++;
                    LogSealed(bucket.Key.Partition, bucket.Key.Bucket, bucket.Records, bucket.Bytes);
                }
                if (scrub)
                    scrubbed++;
                if (migrate)
                {
                    migrated++;
                    LogMigrated(bucket.Key.Partition, bucket.Key.Bucket, bucket.Records);
                }
            }
            finally
            {
                bucket.Gate.Release();
            }
        }
        var verified = VerifySealedBlocks(now);
        return new MaintenanceResult(sealedCount, dropped, scrubbed, migrated, verified);
    }

    /// <summary>Where background verification goes on: the bucket, the segment's sequence and the block.</summary>
    private (BucketKey Bucket, uint Sequence, int Block)? _verifyCursor;
    private DateTimeOffset? _lastVerify;

    /// <summary>
    /// Checks the CRC of sealed blocks, round robin from where the last call stopped, up to
    /// <c>VerifyBytesPerSecond</c> times the time since that call (at most a minute's worth). A damaged block is
    /// reported (and its bucket rewritten at the next maintenance) like damage a query finds.
    /// </summary>
    private long VerifySealedBlocks(DateTimeOffset now)
    {
        var rate = _options.VerifyBytesPerSecond;
        var since = _lastVerify is { } last ? Math.Clamp((now - last).TotalSeconds, 0, 60) : _options.MaintenanceInterval.TotalSeconds;
        _lastVerify = now;
        var budget = (long)(rate * since);
        if (budget <= 0)
            return 0;
        var buckets = _buckets.Values.Where(b => !b.Dropped)
            .OrderBy(b => b.Key.Partition, StringComparer.Ordinal).ThenBy(b => b.Key.Bucket).ToList();
        if (buckets.Count == 0)
            return 0;
        var start = 0;
        if (_verifyCursor is { } cursor)
        {
            start = buckets.FindIndex(b => string.CompareOrdinal(b.Key.Partition, cursor.Bucket.Partition) > 0
                || (b.Key.Partition == cursor.Bucket.Partition && b.Key.Bucket >= cursor.Bucket.Bucket));
            if (start < 0)
                start = 0;
        }
        long done = 0;
        for (var k = 0; k < buckets.Count && done < budget; k++)
        {
            var bucket = buckets[(start + k) % buckets.Count];
            foreach (var segment in bucket.Segments)
            {
                if (segment is not SealedSegment sealedSegment || !sealedSegment.TryAcquire())
                    continue;
                try
                {
                    var first = _verifyCursor is { } at && at.Bucket == bucket.Key && at.Sequence == segment.Sequence ? at.Block : 0;
                    if (_verifyCursor is { } past && past.Bucket == bucket.Key && segment.Sequence < past.Sequence)
                        continue;
                    for (var block = first; block < sealedSegment.BlockCount; block++)
                    {
                        if (done >= budget)
                        {
                            _verifyCursor = (bucket.Key, segment.Sequence, block);
                            _metrics.Verified(done);
                            return done;
                        }
                        done += sealedSegment.VerifyBlock(block, _readCorruption);
                    }
                }
                finally
                {
                    sealedSegment.Release();
                }
            }
            // Bucket done: the next call starts at the following one.
            var next = buckets[(start + k + 1) % buckets.Count];
            _verifyCursor = (next.Key, 0, 0);
        }
        _metrics.Verified(done);
        return done;
    }

    /// <summary>A rewrite (removal, scrub) keeps a bucket sealed once it was, or seals it when its window is over.</summary>
    private bool ShouldSealOnRewrite(Bucket bucket, DateTimeOffset now) =>
        Array.Exists(bucket.Segments, s => s.IsSealed) || bucket.EndTicks + _options.SealGrace.Ticks <= UnixTicks.From(now);

    private bool IsDueForSealing(Bucket bucket, DateTimeOffset now)
    {
        var segments = bucket.Segments;
        if (segments.Length == 0 || Array.TrueForAll(segments, s => s.IsSealed))
            return false;
        // Sealed once the window closed and nothing was appended for the grace period: a bucket being written (late
        // records, a load of historic data) is not sealed under its writers.
        var grace = _options.SealGrace.Ticks;
        if (bucket.EndTicks + grace > UnixTicks.From(now) || bucket.LastAppendUtcTicks + grace > now.UtcTicks)
            return false;
        if (!Array.Exists(segments, s => s.IsSealed))
            return true;
        // Sealed before: the log segments hold late records (late writes, repair). Rewrite the bucket only when they
        // are a sizeable share of it.
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
    /// Rewrites a bucket into one new segment (sealed: sorted, compressed, indexed; else frames) without the records whose
    /// id hash is in <paramref name="remove"/> (their digests go to <paramref name="removed"/>), then retires the old
    /// files. Crash-safe: the new file is written to a temp name, fsynced, renamed (directory fsynced) and declares in
    /// its header that it replaces every older sequence, so recovery deletes leftovers of an interrupted rewrite.
    /// Records unreadable now (corruption) are lost: the observers are given the bucket's new leaves. Caller holds the gate.
    /// </summary>
    /// <returns>Whether records were lost and the observers were given the bucket's new leaves.</returns>
    private bool Rewrite(Bucket bucket, IReadOnlySet<ulong>? remove, List<RecordDigest>? removed, bool seal)
    {
        var inputs = bucket.Segments;
        var expected = bucket.Records;
        if (!seal && bucket.Bytes > MaxLogRewriteBytes)
            seal = true;
        EnsureDirectory(bucket);
        var sequence = bucket.NextSequence++;
        var kind = seal ? SegmentKind.Sealed : SegmentKind.Log;
        var header = new SegmentHeader(kind, bucket.StartTicks, bucket.WidthTicks, sequence, sequence - 1, bucket.Key.Partition);
        var path = Path.Combine(bucket.Directory, SegmentFormat.FileName(sequence, kind));

        var held = new List<Segment>();
        foreach (var input in inputs)
        {
            if (input.TryAcquire())
                held.Add(input);
        }
        Segment output;
        MerkleLeaves leaves;
        long emitted = 0, duplicates = 0, removedCount = 0;
        try
        {
            var kept = Kept(NewestFirstMerge.Ascending(held, _readCorruption));
            if (seal)
            {
                using var writer = new SealedSegmentWriter(path, header, _options.SealedBlockBytes, _options.CompressionLevel, _context);
                foreach (var entry in kept)
                    writer.Add(entry.Payload.Span);
                output = writer.Complete();
                leaves = writer.Leaves;
            }
            else
            {
                var result = new LogRecoveryResult();
                output = WriteLogSegment(path, header, kept, result);
                leaves = result.Leaves;
            }
            emitted = output.RecordCount;
        }
        catch
        {
            // The new file may be in place already (a failure after its rename): it replaces every older sequence, so
            // nothing may be appended to the old active segment any more; the next append opens a newer one.
            if (bucket.Active is { } stale)
                stale.Writable = false;
            throw;
        }
        finally
        {
            held.ForEach(s => s.Release());
        }

        bucket.Segments = [output];
        if (bucket.Active is { } active)
            active.Writable = false;
        bucket.Active = output as LogSegment;
        var open = NewOpenIndex();
        if (bucket.Active is { } log)
        {
            log.Writable = true;
            open.Track(log);
            for (var i = 0; i < log.EntryCount; i++)
                open.AddRecovered(i, log.EntryAt(i).IdHash);
        }
        bucket.ReplaceOpen(open);
        foreach (var input in inputs)
        {
            TryDelete(input.Path);
            input.Retire();
        }

        // What the bucket held but the rewrite could not read is lost: the observers get the leaves of what is left,
        // so repair brings it back.
        var lost = expected - emitted - duplicates - removedCount;
        if (!_open)
            bucket.LoadedLeaves = leaves;
        else if (lost > 0)
            Notify(o => o.OnBucketLoaded(bucket.Key, leaves));
        if (lost > 0)
        {
            _metrics.RecordsRemoved((int)Math.Min(lost, int.MaxValue));
            LogLostRecords(lost, bucket.Key.Partition, bucket.Key.Bucket);
        }
        return lost > 0 && _open;

        // Adjacent equal (timestamp, id): the same record twice (merge order puts copies together); removed ones skipped.
        IEnumerable<Entry> Kept(IEnumerable<Entry> merged)
        {
            var lastTicks = long.MinValue;
            string? lastId = null;
            foreach (var entry in merged)
            {
                if (entry.Ticks == lastTicks && string.Equals(entry.Id, lastId, StringComparison.Ordinal))
                {
                    duplicates++;
                    continue;
                }
                lastTicks = entry.Ticks;
                lastId = entry.Id;
                if (remove is not null)
                {
                    var idHash = _context.IdHashOf(entry.Id);
                    if (remove.Contains(idHash))
                    {
                        removedCount++;
                        removed?.Add(new RecordDigest(idHash, LogRecordCodec.ComputeContentHash(entry.Payload.Span)));
                        continue;
                    }
                }
                yield return entry;
            }
        }
    }

    private LogSegment WriteLogSegment(string path, SegmentHeader header, IEnumerable<Entry> entries, LogRecoveryResult result)
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
        return LogSegment.Recover(path, header, handle, RandomAccess.GetLength(handle), result, _context);
    }
}
