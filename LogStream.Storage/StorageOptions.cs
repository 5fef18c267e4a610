using System.ComponentModel.DataAnnotations;

namespace LogStream.Storage;

/// <summary>
/// The local storage engine. Section <c>LogStream:Storage</c>; data lives in <c>{LogStream:DataDirectory}/segments</c>.
/// <see cref="Partitioning"/> and <see cref="BucketWidth"/> must be equal on every node of a cluster.
/// </summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string SectionName = "LogStream:Storage";
    public const string DurabilityFsync = "fsync";
    public const string DurabilityInterval = "interval";

    /// <summary><c>source</c> (default), <c>time</c> or <c>source+time</c>.</summary>
    [RegularExpression("^(?i)(source|time|source\\+time)$",
        ErrorMessage = "LogStream:Storage:Partitioning must be 'source', 'time' or 'source+time'.")]
    public string Partitioning { get; set; } = "source";

    /// <summary>Width of a time bucket: a whole number of minutes, 1 min to 7 days. Default 1 h.</summary>
    public TimeSpan BucketWidth { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// <c>fsync</c> (default): an append returns once its records are fsynced; concurrent appends share one fsync
    /// (group commit). <c>interval</c>: an append returns once written to the OS, and dirty segments are fsynced every
    /// <see cref="FsyncInterval"/>; appends wait when fsyncing falls more than two intervals behind, so a power loss
    /// loses at most about two intervals of acknowledged records (a process crash loses nothing).
    /// </summary>
    [RegularExpression("^(?i)(fsync|interval)$", ErrorMessage = "LogStream:Storage:Durability must be 'fsync' or 'interval'.")]
    public string Durability { get; set; } = DurabilityFsync;

    /// <summary>Fsync period in <c>interval</c> mode, 1 ms to 10 s. Default 50 ms.</summary>
    public TimeSpan FsyncInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long after its window closes (and since its last append) a bucket is sealed (compressed, indexed). Default 5 min.</summary>
    public TimeSpan SealGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A bucket sealed once gets records later only from late writes and repair; they go to a log segment beside the
    /// sealed one. It is sealed again (the whole bucket rewritten) once those late records reach this fraction of its
    /// sealed records, and <see cref="SealGrace"/> passed since the last of them. Below it the small log segment stays:
    /// resealing a bucket of 62 k records for the 600 a repair added costs a hundred times the repair's own writes.
    /// So a bucket's rewrite writes at most (1 + f) / f times the late records it takes in. 0 reseals on any late
    /// record. Default 0.1.
    /// </summary>
    [Range(0.0, 1.0, ErrorMessage = "LogStream:Storage:ResealFraction must be between 0 and 1.")]
    public double ResealFraction { get; set; } = 0.1;

    /// <summary>Buckets whose window ended longer ago than this are dropped whole. Default 7 days; at least one bucket width.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often sealing and retention run. Default 30 s.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Target uncompressed size of one block of a sealed segment (the unit a query skips or reads). Default 64 KiB.</summary>
    [Range(4096, 4 * 1024 * 1024, ErrorMessage = "LogStream:Storage:SealedBlockBytes must be between 4096 and 4194304.")]
    public int SealedBlockBytes { get; set; } = 64 * 1024;

    /// <summary>zstd level for sealed segments, 1-19. Default 3.</summary>
    [Range(1, 19, ErrorMessage = "LogStream:Storage:CompressionLevel must be between 1 and 19.")]
    public int CompressionLevel { get; set; } = 3;

    /// <summary>An unsealed segment rolls to a new file past this size. Default 256 MiB.</summary>
    [Range(1024 * 1024, 1024L * 1024 * 1024, ErrorMessage = "LogStream:Storage:MaxSegmentBytes must be between 1048576 (1 MiB) and 1073741824 (1 GiB).")]
    public long MaxSegmentBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Largest encoded record accepted. Default 1 MiB.</summary>
    [Range(1024, Frame.MaxPayload, ErrorMessage = "LogStream:Storage:MaxRecordBytes must be between 1024 and 16777216.")]
    public int MaxRecordBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Compressed bytes of sealed blocks re-read and checked against their CRC per second, in the background, round robin
    /// over every sealed segment (start-up reads no block, so this is how bit rot in data nobody queries is found and
    /// handed to repair). Default 8 MiB/s (a node with 100 GiB sealed checks it all every 3.6 hours); 0 turns it off.
    /// </summary>
    [Range(0, long.MaxValue, ErrorMessage = "LogStream:Storage:VerifyBytesPerSecond must not be negative.")]
    public long VerifyBytesPerSecond { get; set; } = 8L * 1024 * 1024;

    /// <summary>
    /// Memory for the fences of sealed id indexes (12 bytes per 256 sealed records), loaded on first use and evicted
    /// least recently used. Default 64 MiB: the fences of about 1.4 billion sealed records.
    /// </summary>
    [Range(1024 * 1024, long.MaxValue, ErrorMessage = "LogStream:Storage:IndexCacheBytes must be at least 1048576 (1 MiB).")]
    public long IndexCacheBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// What the node's indexes, caches and Merkle trees may hold (<c>logstream_memory_used_bytes</c>, summed). Above it
    /// the node reports Degraded, naming the largest structures, instead of growing until it is killed. Records of open
    /// buckets cost about 30 bytes each, sealed ones almost nothing. Default 0: a quarter of the memory the process may
    /// use (the GC's view, which follows a container's limit); at least 16 MiB when set.
    /// </summary>
    [Range(0, long.MaxValue, ErrorMessage = "LogStream:Storage:MemoryBudgetBytes must not be negative.")]
    public long MemoryBudgetBytes { get; set; }

    /// <summary>The budget in force: <see cref="MemoryBudgetBytes"/>, or a quarter of the memory available to the process.</summary>
    public long EffectiveMemoryBudgetBytes =>
        MemoryBudgetBytes > 0 ? MemoryBudgetBytes : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4;

    internal PartitioningStrategy ParsedPartitioning => Partitioning.ToLowerInvariant() switch
    {
        "time" => PartitioningStrategy.Time,
        "source+time" => PartitioningStrategy.SourceAndTime,
        _ => PartitioningStrategy.Source,
    };

    internal bool IntervalDurability => string.Equals(Durability, DurabilityInterval, StringComparison.OrdinalIgnoreCase);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (BucketWidth < TimeSpan.FromMinutes(1) || BucketWidth > TimeSpan.FromDays(7) || BucketWidth.Ticks % TimeSpan.TicksPerMinute != 0)
            yield return new ValidationResult("LogStream:Storage:BucketWidth must be a whole number of minutes between 00:01:00 and 7.00:00:00.", [nameof(BucketWidth)]);
        if (FsyncInterval < TimeSpan.FromMilliseconds(1) || FsyncInterval > TimeSpan.FromSeconds(10))
            yield return new ValidationResult("LogStream:Storage:FsyncInterval must be between 00:00:00.001 and 00:00:10.", [nameof(FsyncInterval)]);
        if (SealGrace < TimeSpan.Zero || SealGrace > TimeSpan.FromDays(1))
            yield return new ValidationResult("LogStream:Storage:SealGrace must be between 00:00:00 and 1.00:00:00.", [nameof(SealGrace)]);
        if (Retention < BucketWidth)
            yield return new ValidationResult("LogStream:Storage:Retention must be at least one BucketWidth.", [nameof(Retention)]);
        if (MemoryBudgetBytes is > 0 and < 16 * 1024 * 1024)
            yield return new ValidationResult("LogStream:Storage:MemoryBudgetBytes must be 0 (a quarter of the available memory) or at least 16777216 (16 MiB).", [nameof(MemoryBudgetBytes)]);
        else if (IndexCacheBytes > EffectiveMemoryBudgetBytes)
            yield return new ValidationResult("LogStream:Storage:IndexCacheBytes must not exceed the memory budget (LogStream:Storage:MemoryBudgetBytes).", [nameof(IndexCacheBytes)]);
        if (MaintenanceInterval < TimeSpan.FromMilliseconds(10) || MaintenanceInterval > TimeSpan.FromHours(1))
            yield return new ValidationResult("LogStream:Storage:MaintenanceInterval must be between 00:00:00.010 and 01:00:00.", [nameof(MaintenanceInterval)]);
    }
}
