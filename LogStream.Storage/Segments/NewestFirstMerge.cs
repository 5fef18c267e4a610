namespace LogStream.Storage;

/// <summary>
/// K-way merges of segment streams. Newest first for queries: each segment yields newest first, a priority queue
/// picks the next record, and a segment is opened only when the merge reaches its newest possible timestamp, so
/// "newest 100" touches only the newest segments. Ascending for rewrites.
/// </summary>
internal static class NewestFirstMerge
{
    private readonly record struct Key(long Ticks, bool Unopened, string? Id, string Partition);

    /// <summary>Orders keys so that the queue's minimum is the newest: ticks descending, unopened first, id descending, partition descending.</summary>
    private sealed class NewestFirst : IComparer<Key>
    {
        public static readonly NewestFirst Instance = new();

        public int Compare(Key x, Key y)
        {
            if (x.Ticks != y.Ticks)
                return y.Ticks.CompareTo(x.Ticks);
            if (x.Unopened != y.Unopened)
                return x.Unopened ? -1 : 1;
            var byId = string.CompareOrdinal(y.Id, x.Id);
            return byId != 0 ? byId : string.CompareOrdinal(y.Partition, x.Partition);
        }
    }

    private sealed class Source(Segment segment, int count)
    {
        public Segment Segment { get; } = segment;
        public int Count { get; } = count;
        public IEnumerator<Entry>? Enumerator { get; set; }
    }

    public static IEnumerable<Entry> Merge(List<(Segment Segment, int Count, long MaxTicks)> segments, RecordFilter filter, CorruptionSink corruption)
    {
        var queue = new PriorityQueue<Source, Key>(segments.Count, NewestFirst.Instance);
        foreach (var (segment, count, maxTicks) in segments)
            queue.Enqueue(new Source(segment, count), new Key(maxTicks, true, null, segment.Header.Partition));
        // The source whose record was just yielded is out of the queue: a consumer that stops there (a limit) must
        // still have it disposed, or its read buffer never goes back to the pool.
        Source? current = null;
        try
        {
            while (queue.TryDequeue(out var source, out _))
            {
                current = source;
                if (source.Enumerator is null)
                {
                    source.Enumerator = (source.Segment is LogSegment log && source.Count >= 0
                        ? log.Descending(filter, corruption, source.Count)
                        : source.Segment.Descending(filter, corruption)).GetEnumerator();
                    if (source.Enumerator.MoveNext())
                        queue.Enqueue(source, new Key(source.Enumerator.Current.Ticks, false, source.Enumerator.Current.Id, source.Segment.Header.Partition));
                    else
                        source.Enumerator.Dispose();
                    current = null;
                    continue;
                }

                yield return source.Enumerator.Current;
                if (source.Enumerator.MoveNext())
                    queue.Enqueue(source, new Key(source.Enumerator.Current.Ticks, false, source.Enumerator.Current.Id, source.Segment.Header.Partition));
                else
                    source.Enumerator.Dispose();
                current = null;
            }
        }
        finally
        {
            current?.Enumerator?.Dispose();
            while (queue.TryDequeue(out var source, out _))
                source.Enumerator?.Dispose();
        }
    }

    /// <summary>Every record of the segments in (timestamp, id) ascending order.</summary>
    public static IEnumerable<Entry> Ascending(IReadOnlyList<Segment> segments, CorruptionSink corruption)
    {
        if (segments.Count == 1)
        {
            foreach (var entry in segments[0].Ascending(corruption))
                yield return entry;
            yield break;
        }
        var queue = new PriorityQueue<IEnumerator<Entry>, (long Ticks, string Id)>(
            Comparer<(long Ticks, string Id)>.Create(static (a, b) => a.Ticks != b.Ticks ? a.Ticks.CompareTo(b.Ticks) : string.CompareOrdinal(a.Id, b.Id)));
        IEnumerator<Entry>? current = null;
        try
        {
            foreach (var segment in segments)
            {
                var enumerator = segment.Ascending(corruption).GetEnumerator();
                if (enumerator.MoveNext())
                    queue.Enqueue(enumerator, (enumerator.Current.Ticks, enumerator.Current.Id));
                else
                    enumerator.Dispose();
            }
            while (queue.TryDequeue(out var enumerator, out _))
            {
                current = enumerator;
                yield return enumerator.Current;
                if (enumerator.MoveNext())
                    queue.Enqueue(enumerator, (enumerator.Current.Ticks, enumerator.Current.Id));
                else
                    enumerator.Dispose();
                current = null;
            }
        }
        finally
        {
            current?.Dispose();
            while (queue.TryDequeue(out var enumerator, out _))
                enumerator.Dispose();
        }
    }
}
