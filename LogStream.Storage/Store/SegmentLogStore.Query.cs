namespace LogStream.Storage;

public sealed partial class SegmentLogStore
{
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

    /// <summary>Every segment of the bucket, acquired (empty when the bucket is unknown). The caller releases them.</summary>
    private List<Segment> AcquireAll(BucketKey key)
    {
        var acquired = new List<Segment>();
        if (!_buckets.TryGetValue(key, out var bucket))
            return acquired;
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
                return acquired;
            acquired.ForEach(s => s.Release());
            acquired.Clear();
        }
    }

    public IReadOnlyList<BucketInfo> ListBuckets()
    {
        ThrowIfNotOpen();
        return _buckets.Values
            .Where(b => !b.Dropped)
            .Select(b => new BucketInfo(b.Key.Partition, b.Key.Bucket, b.Records, b.Bytes, b.IsSealed, b.Segments.Length))
            .OrderBy(b => b.Partition, StringComparer.Ordinal).ThenBy(b => b.Bucket)
            .ToList();
    }

    public IAsyncEnumerable<LogRecord> ReadBucketAsync(BucketKey bucket, CancellationToken cancellationToken = default)
    {
        ThrowIfNotOpen();
        return new SyncAsyncEnumerable<LogRecord>(ReadBucket(bucket, null, ToRecord), cancellationToken);
    }

    public IAsyncEnumerable<LogRecord> ReadRecordsAsync(BucketKey bucket, IReadOnlyCollection<ulong> idHashes, CancellationToken cancellationToken = default) =>
        ReadRecords(bucket, idHashes, ToRecord, cancellationToken);

    public IAsyncEnumerable<byte[]> ReadEncodedRecordsAsync(BucketKey bucket, IReadOnlyCollection<ulong> idHashes, CancellationToken cancellationToken = default) =>
        ReadRecords(bucket, idHashes, static entry => entry.Payload.ToArray(), cancellationToken);

    private SyncAsyncEnumerable<T> ReadRecords<T>(BucketKey bucket, IReadOnlyCollection<ulong> idHashes, Func<Entry, T> map, CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        var wanted = idHashes as IReadOnlySet<ulong> ?? idHashes.ToHashSet();
        return new SyncAsyncEnumerable<T>(wanted.Count == 0 ? [] : ReadBucket(bucket, wanted, map), cancellationToken);
    }

    private static LogRecord ToRecord(Entry entry)
    {
        EncodedRecord.TryParse(entry.Payload.Span, out var view);
        return view.ToRecord(entry.Id);
    }

    /// <param name="map">Called while the entry's payload is valid (it points into a pooled block buffer).</param>
    private IEnumerable<T> ReadBucket<T>(BucketKey key, IReadOnlySet<ulong>? idHashes, Func<Entry, T> map)
    {
        var acquired = AcquireAll(key);
        try
        {
            foreach (var segment in acquired)
            {
                foreach (var entry in segment.StorageOrder(idHashes, _readCorruption))
                    yield return map(entry);
            }
        }
        finally
        {
            acquired.ForEach(s => s.Release());
        }
    }

    /// <summary>
    /// Without the bucket's gate: records appended meanwhile may or may not be listed (anti-entropy reads the tree
    /// version first, so a listing that misses them looks stale, never fresh). Sealed segments answer from their id
    /// index (a range of it per leaf); log segments read the frames of the records asked for.
    /// </summary>
    public IReadOnlyList<RecordDigest> GetDigests(BucketKey bucket, Func<int, bool>? leafFilter = null)
    {
        ThrowIfNotOpen();
        var acquired = AcquireAll(bucket);
        try
        {
            var digests = new List<RecordDigest>();
            foreach (var segment in acquired)
                digests.AddRange(segment.Digests(leafFilter, _readCorruption));
            return digests;
        }
        finally
        {
            acquired.ForEach(s => s.Release());
        }
    }
}
