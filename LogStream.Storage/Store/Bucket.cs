namespace LogStream.Storage;

/// <summary>Content hash, id hash and encoded size of a stored record, by id.</summary>
internal readonly record struct DigestValue(ulong Hash, ulong IdHash, int Size)
{
    public RecordDigest ToDigest(string id) => new(id, Hash, Size, IdHash);
}

/// <summary>
/// The in-memory state of one (partition, bucket). <see cref="Gate"/> serialises appends, rewrites and drops;
/// readers take the immutable <see cref="Segments"/> snapshot without it.
/// </summary>
internal sealed class Bucket(BucketKey key, long startTicks, long widthTicks, string directory)
{
    public BucketKey Key { get; } = key;

    public long StartTicks { get; } = startTicks;

    public long WidthTicks { get; } = widthTicks;

    public long EndTicks => StartTicks + WidthTicks;

    /// <summary>Canonical folder of the bucket's files.</summary>
    public string Directory { get; } = directory;

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Every record held, by id. Under <see cref="Gate"/>.</summary>
    public Dictionary<string, DigestValue> Ids { get; } = new(StringComparer.Ordinal);

    private Segment[] _segments = [];

    /// <summary>Segments in sequence order; replaced whole (copy on write), so readers never lock.</summary>
    public Segment[] Segments
    {
        get => Volatile.Read(ref _segments);
        set => Volatile.Write(ref _segments, value);
    }

    public LogSegment? Active { get; set; }

    public uint NextSequence { get; set; } = 1;

    public bool Dropped { get; set; }

    /// <summary>Ticket of the latest write here: a duplicate of an in-flight record waits for it.</summary>
    public long LastTicket { get; set; }

    /// <summary>UTC ticks of the last append (0 when unknown, e.g. after a restart).</summary>
    public long LastAppendUtcTicks { get; set; }

    public long Bytes
    {
        get
        {
            long total = 0;
            foreach (var segment in Segments)
                total += segment.FileBytes;
            return total;
        }
    }

    public bool IsSealed
    {
        get
        {
            var segments = Segments;
            return segments.Length > 0 && Array.TrueForAll(segments, s => s.IsSealed);
        }
    }
}
