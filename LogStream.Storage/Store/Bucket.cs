namespace LogStream.Storage;

/// <summary>
/// The in-memory state of one (partition, bucket): its segments, and the id index of its log segments. No per-record
/// object: what a sealed segment holds is found through its on-disk indexes. <see cref="Gate"/> serialises appends,
/// rewrites and drops; readers take the immutable <see cref="Segments"/> snapshot without it.
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

    private Segment[] _segments = [];

    /// <summary>Segments in sequence order; replaced whole (copy on write), so readers never lock.</summary>
    public Segment[] Segments
    {
        get => Volatile.Read(ref _segments);
        set => Volatile.Write(ref _segments, value);
    }

    /// <summary>The id index of the log segments, in their order. Under <see cref="Gate"/>; replaced with <see cref="ReplaceOpen"/>.</summary>
    public OpenIndex Open { get; private set; } = new();

    /// <summary>Installs a new id index and frees the old one's native memory. Under <see cref="Gate"/>.</summary>
    public void ReplaceOpen(OpenIndex open)
    {
        var old = Open;
        Open = open;
        old.Dispose();
    }

    public LogSegment? Active { get; set; }

    public uint NextSequence { get; set; } = 1;

    public bool Dropped { get; set; }

    /// <summary>Ticket of the latest write here: a duplicate of an in-flight record waits for it.</summary>
    public long LastTicket { get; set; }

    /// <summary>UTC ticks of the last append (0 when unknown, e.g. after a restart).</summary>
    public long LastAppendUtcTicks { get; set; }

    /// <summary>The Merkle leaves found at start-up, until the observers are told (then dropped).</summary>
    public MerkleLeaves? LoadedLeaves { get; set; }

    /// <summary>Records held: segments never share a record (appends and recovery deduplicate).</summary>
    public long Records
    {
        get
        {
            long total = 0;
            foreach (var segment in Segments)
                total += segment.RecordCount;
            return total;
        }
    }

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
